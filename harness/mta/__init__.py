"""MTA adapters: how the harness configures, starts and inspects each MTA it can certify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError
from harness.mta.base import MtaAdapter, MtaIdentity, MtaPlan, QueueEntry
from harness.mta.chasquid import Chasquid
from harness.mta.courier import Courier
from harness.mta.exim import Exim
from harness.mta.external import ExternalMta
from harness.mta.generic import GenericMta
from harness.mta.haraka import Haraka
from harness.mta.maddy import Maddy
from harness.mta.opensmtpd import OpenSmtpd
from harness.mta.postfix import Postfix
from harness.mta.seedmta import SEED_PACE, SeedMta
from harness.mta.sendmail import Sendmail
from harness.mta.toml import load_description

#: ``--mta`` name -> adapter factory. A new MTA adds one line here and one module.
ADAPTERS: dict[str, Callable[[], MtaAdapter]] = {
    "chasquid": lambda: Chasquid(),
    "courier": lambda: Courier(),
    "courier-hol": lambda: Courier(hol=True),
    "exim": lambda: Exim(),
    "exim-hol": lambda: Exim(hol=True),
    "haraka": lambda: Haraka(),
    "haraka-hol": lambda: Haraka(hol=True),
    "maddy": lambda: Maddy(),
    "maddy-hol": lambda: Maddy(hol=True),
    "opensmtpd": lambda: OpenSmtpd(),
    "postfix": lambda: Postfix(),
    "postfix-hol": lambda: Postfix(hol=True),
    "postfix-pool": lambda: Postfix(preset="postfix-pool"),
    "seedmta-async": lambda: SeedMta("async"),
    "seedmta-paced": lambda: SeedMta("async", pace=SEED_PACE),
    "seedmta-pool": lambda: SeedMta("pool"),
    "seedmta-sync": lambda: SeedMta("sync"),
    "seedmta-sync-lossy": lambda: SeedMta("sync", lossy=True),
    "seedmta-sync-paced": lambda: SeedMta("sync", pace=SEED_PACE),
    "sendmail": lambda: Sendmail(),
    "sendmail-hol": lambda: Sendmail(hol=True),
}


def get_adapter(name: str) -> MtaAdapter:
    """The adapter for ``--mta name`` (or ``--mta FILE.toml``, an MTA you describe); raises
    :class:`UsageError` naming the known ones."""
    if name.endswith(".toml"):
        path = Path(name)
        data = load_description(path)
        if data.get("external") is True:
            return ExternalMta.load(path, data)
        return GenericMta.load(path, data)
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise UsageError(
            f"unknown MTA {name!r}; available: {', '.join(sorted(ADAPTERS))}"
        ) from None


def read_fragment(path: str | Path | None) -> str:
    """The text of a user's configuration fragment; a clear :class:`UsageError` if unreadable."""
    if path is None:
        return ""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mta-config {path}: cannot read it: {exc}") from None


__all__ = [
    "ADAPTERS",
    "MtaAdapter",
    "MtaIdentity",
    "MtaPlan",
    "QueueEntry",
    "get_adapter",
    "read_fragment",
]
