"""Remove what killed runs left behind: labelled processes and scratch folders.

Called at the start of every run and by ``mta-harness gc``. It only touches things that
carry this harness's labels and whose owning process is gone, so two live runs never
reap each other.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

from harness.clock import Deadline
from harness.errors import HarnessError
from harness.runtime import OWNER_LABEL, ROOT_LABEL, RUN_LABEL, owner_alive, runtime_root

#: How long a reaping pass may keep finding processes of killed runs before it gives up.
REAP_SECONDS = 20.0


@dataclass
class ReapReport:
    """What one reaping pass removed."""

    processes: list[int] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    #: Docker containers and networks, as "container NAME" / "network NAME".
    containers: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.processes or self.folders or self.containers)

    def describe(self) -> str:
        text = (
            f"removed {len(self.processes)} orphaned process(es) and "
            f"{len(self.folders)} scratch folder(s) of killed runs"
        )
        if self.containers:
            text += f", and {len(self.containers)} container(s)/network(s)"
        return text


def labelled_processes(root: Path | None = None) -> dict[int, tuple[str, str]]:
    """Processes carrying our labels: pid -> (run id, owner); only those of runtime folder
    ``root`` when it is given."""
    found: dict[int, tuple[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        run = env.get(RUN_LABEL.encode())
        owner = env.get(OWNER_LABEL.encode())
        if root is not None and env.get(ROOT_LABEL.encode()) != str(root).encode():
            continue
        if run is not None and owner is not None:
            found[int(entry.name)] = (run.decode(), owner.decode())
    return found


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    """Wait until each killed process has exited, on its pidfd (an event, not a poll loop)."""
    deadline = Deadline.after(timeout)
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue  # already gone
        try:
            select.select([fd], [], [], deadline.remaining())
        finally:
            os.close(fd)


def _kill(pid: int) -> None:
    # Kill the whole group first: an MTA's own children may have dropped our labels.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def reap_orphans() -> ReapReport:
    """Kill labelled processes and delete scratch folders whose owner has died."""
    report = ReapReport()
    me = os.getpid()
    # A killed run's process tree may still be spawning (an MTA's start script forking its
    # daemon, which then leaves the group we kill): sweep until a pass finds nothing.
    deadline = Deadline.after(REAP_SECONDS)
    while True:
        # Only this runtime folder's runs: another project's or test's are not ours to reap.
        orphans = [
            pid
            for pid, (_run, owner) in labelled_processes(runtime_root()).items()
            if pid != me and not owner_alive(owner)
        ]
        if not orphans:
            break
        if deadline.passed():
            raise HarnessError(
                f"processes of killed runs survive SIGKILL for {REAP_SECONDS:.0f} s: "
                + ", ".join(map(str, orphans))
            )
        for pid in orphans:
            _kill(pid)
        _wait_gone(orphans, deadline.remaining())
        report.processes += [pid for pid in orphans if pid not in report.processes]
    runs = runtime_root() / "runs"
    if runs.is_dir():
        for folder in runs.iterdir():
            if folder.name.startswith("."):
                continue  # a run folder being created right now
            try:
                owner = (folder / "owner").read_text().strip()
            except OSError:
                owner = ""
            if not owner_alive(owner):
                shutil.rmtree(folder, ignore_errors=True)
                report.folders.append(folder.name)
    return report
