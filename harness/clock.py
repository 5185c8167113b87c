"""One clock for every process of a run.

Sites, the MTA model and the harness stamp events with ``time.monotonic()``: on Linux it is
``CLOCK_MONOTONIC``, shared by every process (and container) on one kernel, so latencies can be
computed across processes without trusting the wall clock, which may step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


def now() -> float:
    """Seconds on the run-wide monotonic clock."""
    return time.monotonic()


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock; ``remaining()`` never goes below zero."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(now() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - now())

    def passed(self) -> bool:
        return now() >= self.at
