"""The Backend extension point: where the parts of a test world run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol

from harness.backends.chroot import RootLayers
from harness.topology import AddressPlan, Endpoint

#: What a started program is to the harness; a backend may pick an image or rootfs by role.
Role = Literal["toxiproxy", "site", "mta", "dns"]


class Service(Protocol):
    """A running program of the test world (a process, a container)."""

    name: str

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with each later line of the program's output."""

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """Wait for a line of output; raise if the program exits or the time runs out."""

    def send(self, line: str) -> None:
        """Write a line to the program's standard input."""

    @property
    def returncode(self) -> int | None:
        """None while running."""

    def tail(self, lines: int = 15) -> str:
        """The last lines of output, for error messages."""

    def stop(self, grace: float = 5.0) -> None:
        """Stop the program and everything it started. Idempotent."""


class Backend(Protocol):
    """Runs the programs of one test world and owns everything they leave behind."""

    name: str
    #: Labels everything this backend creates, so a later run can find what a killed one left.
    run_id: str
    #: Where each part listens, as the MTA and the harness see it.
    addresses: AddressPlan
    #: Scratch folder of this run (configs, queues, logs); removed by :meth:`close`.
    workdir: Path

    def spawn(
        self,
        role: Role,
        name: str,
        argv: Sequence[str],
        root: RootLayers | None = None,
        address: str | None = None,
    ) -> Service:
        """Start a long-running program; with ``root``, in that root filesystem. ``address``
        is the one it listens on (a container backend gives its container that address)."""

    def harness_view(self, endpoint: Endpoint) -> Endpoint:
        """Where the harness itself connects to reach ``endpoint`` (a published port on
        127.0.0.1 on the docker backend; the same endpoint on the local one)."""

    def link_namespace(self) -> Callable[[list[str]], str] | None:
        """How to run a command in the network namespace holding the links' addresses, where
        faults below TCP are made; None if the run owns no such namespace."""

    def run(self, role: Role, argv: Sequence[str], timeout: float = 30.0) -> str:
        """Run a short command beside ``role`` (e.g. a queue listing) and return its output."""

    def image_of(self, role: Role) -> str | None:
        """The image ``role`` runs in ("tag (sha256:...)"), for certificates; None where
        programs do not run in images (the local backend)."""

    def image_files(self, image: str) -> Path:
        """A folder holding ``image``'s configuration files (its ``/etc``), for an adapter to
        start from the build's own stock files; a UsageError where images cannot run."""

    def close(self) -> None:
        """Stop every program this backend started and remove what it created."""
