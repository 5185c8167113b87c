"""Dividing one certification's search into shards: across machines (``--shard K/N``), across
the pytest-xdist workers of one run (``certify -n N``), or both.

A shard is pure data. Every shard plays every property suite, each with a Hypothesis seed of
its own derived from the run's seed and the shard, so N shards explore N different parts of
the search and the same run seed and N give the same examples on any machine. Fixed tests (a
scenario file of the regression library) are dealt out among the shards instead: replaying
one twice proves nothing more.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as the command line writes it: ``2/3``)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be 1..N, N at least 1")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def whole(self) -> bool:
        """Whether this is the whole search (1/1): its seed is the run's own."""
        return self.count == 1

    def seed(self, run_seed: int) -> int:
        """This shard's Hypothesis seed: the run's own for 1/1, else a 32-bit number derived
        from the run's seed and the shard (the same on every machine and Python)."""
        if self.whole:
            return run_seed
        digest = hashlib.sha256(f"mta-harness shard {run_seed} {self}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def owns(self, position: int) -> bool:
        """Whether the fixed test at ``position`` (0-based, in collection order) is this
        shard's to run."""
        return position % self.count == self.index - 1

    def split(self, worker: int, workers: int) -> Shard:
        """Worker ``worker`` (0-based) of ``workers`` running this shard: one shard of the
        finer division, ``(index - 1) * workers + worker + 1`` of ``count * workers``."""
        if not 0 <= worker < workers:
            raise ValueError(f"worker {worker} of {workers}")
        return Shard((self.index - 1) * workers + worker + 1, self.count * workers)


WHOLE = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    """``K/N`` as a :class:`Shard`; an argparse type, so a bad value is one clear message."""
    match = _FORM.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected K/N (e.g. 2/3), got {text!r}")
    try:
        return Shard(int(match.group(1)), int(match.group(2)))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
