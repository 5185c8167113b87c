"""What claims judge: the example's ledger, its fault windows and what happened after the heal.

Gathering facts (waiting, asking the MTA to retry) is :func:`harness.scenario.play`'s job;
claims only read them, so every claim is a small function of one record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.claims.base import Bounds
from harness.claims.evidence import QueueHold
from harness.ledger import Ledger

#: What the MTA says of each recipient it still holds.
Held = Mapping[str, QueueHold]


@dataclass(frozen=True)
class FaultWindow:
    """One fault on one site (its link, or the site itself misbehaving)."""

    site: str
    kind: str
    start: float
    #: When it was healed; ``math.inf`` while it is still on.
    end: float = math.inf

    def overlaps(self, start: float, end: float) -> bool:
        return self.start <= end and self.end >= start


@dataclass(frozen=True)
class Retry:
    """The harness asked the MTA to retry everything it holds, now."""

    #: When it asked; None if this MTA cannot be asked (no retry command).
    asked_at: float | None
    #: What the MTA's command printed, or why it could not be asked.
    answer: str
    #: What the MTA still held once the retry window passed; None if it cannot list its queue.
    held_after: Held | None


@dataclass(frozen=True)
class Settlement:
    """What became of the mail after every fault healed."""

    healed_at: float
    #: Whether every accepted message was delivered or bounced within the recovery bound.
    settled_in_time: bool
    #: What the MTA held when the recovery bound passed (empty if it settled; None if it
    #: cannot list its queue).
    held_at_bound: Held | None = None
    #: The retry asked for when mail was still unsettled at the bound.
    retry: Retry | None = None


@dataclass
class ExampleFacts:
    """Everything a claim may read about one example."""

    ledger: Ledger
    bounds: Bounds
    #: The fault windows so far (those still on end at ``math.inf``).
    windows: Callable[[], list[FaultWindow]]
    #: Set once the faults healed and the mail settled (or was retried).
    settlement: Settlement | None = None
    strict_duplicates: bool = False
    #: When each load step of the example ran (start, end): sustained mail to judge by rate.
    loads: Callable[[], list[tuple[float, float]]] = lambda: []

    def after_heal(self, claim: str) -> Settlement:
        """The settlement, for a claim judged after the heal (which cannot go without it)."""
        if self.settlement is None:
            raise ValueError(f"{claim} is judged after the heal: the settlement is missing")
        return self.settlement

    def windows_of(self, site: str) -> list[FaultWindow]:
        return [w for w in self.windows() if w.site == site]
