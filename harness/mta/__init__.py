"""MTA adapters: how the harness configures, starts and inspects each MTA it can certify."""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import UsageError
from harness.mta.base import MtaAdapter, MtaIdentity, MtaPlan, QueueEntry
from harness.mta.seedmta import SeedMta

#: ``--mta`` name -> adapter factory. A new MTA adds one line here and one module.
ADAPTERS: dict[str, Callable[[], MtaAdapter]] = {
    "seedmta-async": lambda: SeedMta("async"),
    "seedmta-sync": lambda: SeedMta("sync"),
}


def get_adapter(name: str) -> MtaAdapter:
    """The adapter for ``--mta name``; raises :class:`UsageError` naming the known ones."""
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise UsageError(
            f"unknown MTA {name!r}; available: {', '.join(sorted(ADAPTERS))}"
        ) from None


__all__ = ["ADAPTERS", "MtaAdapter", "MtaIdentity", "MtaPlan", "QueueEntry", "get_adapter"]
