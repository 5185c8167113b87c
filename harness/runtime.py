"""Who owns a run, where its scratch files live, and which address block it holds.

Every process a run starts carries environment variables, its *labels*:
``MTA_HARNESS_RUN`` (the run id), ``MTA_HARNESS_OWNER`` (pid and start time of the harness
process that owns the run) and ``MTA_HARNESS_ROOT`` (its runtime folder). A later run, or
``mta-harness gc``, removes whatever carries a label whose owner is gone: that is how a
SIGKILLed run gets cleaned up.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

RUN_LABEL = "MTA_HARNESS_RUN"
OWNER_LABEL = "MTA_HARNESS_OWNER"
#: The runtime root a process belongs to: a reaper only touches its own root's processes.
ROOT_LABEL = "MTA_HARNESS_ROOT"
#: How many runs can share one machine: each holds one /24 of 127.0.0.0/8.
SLOTS = 64


def runtime_root() -> Path:
    """Scratch space for all runs of this user (``MTA_HARNESS_RUNTIME`` overrides it)."""
    override = os.environ.get("MTA_HARNESS_RUNTIME")
    root = Path(override) if override else Path("/tmp") / f"mta-harness-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def slots_root() -> Path:
    """Where address-block locks live: one folder per user, whatever the runtime folder.
    The addresses are the machine's, so two runtime folders (``MTA_HARNESS_RUNTIME``) must
    still never hand out the same block."""
    root = Path("/tmp") / f"mta-harness-{os.getuid()}" / "slots"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def new_run_id() -> str:
    """A sortable, unique run id such as ``20261128-113501-3fa2``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is gone.

    A pid alone can be reused; pid plus start time names one process for good.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{process_start_time(pid)}"


def owner_alive(token: str) -> bool:
    pid_text, _, started = token.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return process_start_time(pid) == started


@dataclass
class SlotLease:
    """An exclusive claim on one address block, held by an flock for the run's lifetime.

    The kernel drops the lock when the owning process dies, however it dies, so a killed
    run never keeps its block.
    """

    slot: int
    _fd: int

    @classmethod
    def acquire(cls) -> SlotLease:
        slots = slots_root()
        # Start at a pid-derived slot so parallel workers rarely contend for the same lock.
        first = os.getpid() % SLOTS
        for offset in range(SLOTS):
            slot = (first + offset) % SLOTS
            fd = os.open(slots / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(slot, fd)
        raise HarnessError(f"all {SLOTS} address blocks are in use by other runs on this machine")

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


@dataclass
class RunContext:
    """One run: its id, its owner, its scratch folder and its address block."""

    run_id: str
    owner: str
    workdir: Path
    lease: SlotLease

    @classmethod
    def create(cls, run_id: str | None = None) -> RunContext:
        run_id = run_id or new_run_id()
        runs = runtime_root() / "runs"
        runs.mkdir(exist_ok=True)
        owner = owner_token()
        # Build the folder under a hidden name and rename it into place, so a reaper in
        # another run never sees a run folder without its owner file.
        staging = Path(tempfile.mkdtemp(prefix=".new-", dir=runs))
        (staging / "owner").write_text(owner)
        workdir = runs / run_id
        staging.rename(workdir)
        return cls(run_id, owner, workdir, SlotLease.acquire())

    @property
    def labels(self) -> dict[str, str]:
        return {
            RUN_LABEL: self.run_id,
            OWNER_LABEL: self.owner,
            ROOT_LABEL: str(self.workdir.parent.parent),
        }

    def close(self) -> None:
        self.lease.release()
        shutil.rmtree(self.workdir, ignore_errors=True)
