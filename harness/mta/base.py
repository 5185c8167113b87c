"""The MTA adapter extension point: how to configure, start and inspect one MTA."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.backends.base import Role
from harness.topology import Endpoint

#: Runs a short command beside the MTA and returns its standard output.
CommandRunner = Callable[[Role, Sequence[str]], str]


@dataclass(frozen=True)
class MtaPlan:
    """What the harness asks of the MTA: listen here, relay each domain to its link."""

    listen: Endpoint
    routes: dict[str, Endpoint]
    #: A folder for the MTA's configuration, queue and logs, its own for this run.
    workdir: Path
    #: Retry and timeout settings the adapter should use, in seconds.
    timers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MtaIdentity:
    """What was certified: name, version and a digest of the configuration actually used."""

    name: str
    version: str
    config_digest: str


@dataclass(frozen=True)
class QueueEntry:
    """One message the MTA still holds."""

    queue_id: str
    recipients: tuple[str, ...]
    reason: str = ""


class MtaAdapter(Protocol):
    """How the harness drives one MTA. A new MTA is one new module implementing this."""

    @property
    def name(self) -> str:
        """The name users pass as ``--mta``."""

    def command(self, plan: MtaPlan) -> list[str]:
        """Write the MTA's configuration into ``plan.workdir``; return the argv that runs it
        in the foreground."""

    def is_ready(self, line: str) -> bool:
        """Whether a line of the MTA's output says it now accepts mail."""

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        """The messages the MTA still holds."""

    def purge(self, plan: MtaPlan) -> None:
        """Empty the queue; called only while the MTA is stopped."""

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        """Name, version and configuration digest of the MTA as configured for ``plan``."""


def digest(*parts: str | bytes) -> str:
    """A short sha256 of configuration text, for :class:`MtaIdentity`."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return "sha256:" + h.hexdigest()[:16]
