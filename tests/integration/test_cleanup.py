"""Nothing is left running: on SIGTERM and Ctrl-C a run tears down; after SIGKILL the next
run removes what the killed one left."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from harness.backends.local import LocalBackend
from harness.reaper import labelled_processes
from harness.runtime import runtime_root

from ..conftest import start_run

pytestmark = pytest.mark.integration


def start_certify(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a certification (the failing one: it runs longest) and wait for its world."""
    return start_run("certify", "--mta", "seedmta-sync", "--reports", str(tmp_path))


def processes_of(run_id: str) -> list[int]:
    return [pid for pid, (run, _) in labelled_processes().items() if run == run_id]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_run_tears_down_everything(tmp_path: Path, sig: signal.Signals) -> None:
    proc, run_id = start_certify(tmp_path)
    assert processes_of(run_id), "the world's processes should be running"
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert processes_of(run_id) == []
    assert not (runtime_root() / "runs" / run_id).exists()


def test_a_killed_run_is_cleaned_up_when_the_next_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A runtime folder of its own: a run starting in another worker would otherwise reap
    # these orphans first (rightly), and this test could not see its own reaper do it.
    monkeypatch.setenv("MTA_HARNESS_RUNTIME", str(tmp_path / "runtime"))
    proc, run_id = start_certify(tmp_path / "reports")
    proc.kill()  # SIGKILL to the harness process alone: it gets no chance to clean up
    proc.wait(timeout=30)
    orphans = processes_of(run_id)
    assert orphans, "SIGKILL leaves the world's processes behind (this test would be empty)"
    backend = LocalBackend()  # the next run starting
    try:
        # Every orphan was reaped, unless it ended by itself first (a short command the run
        # had started beside the MTA, such as a queue listing, finishing on its own).
        missed = set(orphans) - set(backend.reaped.processes)
        assert all(not Path(f"/proc/{pid}").exists() or _is_zombie(pid) for pid in missed)
        assert backend.reaped.processes
        assert run_id in backend.reaped.folders
    finally:
        backend.close()
    for pid in orphans:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    assert processes_of(run_id) == []


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_two_runtime_folders_never_share_an_address_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The addresses are the machine's: a run in another runtime folder (as the test above
    uses) must not be handed a block a run here holds."""
    from harness.runtime import SlotLease

    first = SlotLease.acquire()
    monkeypatch.setenv("MTA_HARNESS_RUNTIME", str(tmp_path / "elsewhere"))
    second = SlotLease.acquire()
    try:
        assert first.slot != second.slot
    finally:
        first.release()
        second.release()
