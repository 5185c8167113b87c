"""Nothing is left running: on SIGTERM and Ctrl-C a run tears down; after SIGKILL the next
run removes what the killed one left."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.local import LocalBackend
from harness.reaper import labelled_processes
from harness.runtime import runtime_root

pytestmark = pytest.mark.integration

WORLD_UP = re.compile(r"mta-harness: world (\S+) up")


def start_certify(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a certification (the failing one: it runs longest) and wait for its world."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "certify",
            "--mta",
            "seedmta-sync",
            "--reports",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # our signals reach it alone, not this test run
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # ends at EOF if the run dies: then the assert below says why
        seen.append(line)
        match = WORLD_UP.search(line)
        if match:
            return proc, match.group(1)
    proc.wait()
    raise AssertionError("the run never brought its world up:\n" + "".join(seen))


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


def test_a_killed_run_is_cleaned_up_when_the_next_run_starts(tmp_path: Path) -> None:
    proc, run_id = start_certify(tmp_path)
    proc.kill()  # SIGKILL to the harness process alone: it gets no chance to clean up
    proc.wait(timeout=30)
    orphans = processes_of(run_id)
    assert orphans, "SIGKILL leaves the world's processes behind (this test would be empty)"
    backend = LocalBackend()  # the next run starting
    try:
        assert set(orphans) <= set(backend.reaped.processes)
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
