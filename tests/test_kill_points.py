"""Killing a run at a random moment (SIGINT, SIGTERM or SIGKILL; during setup, mid-example,
while Hypothesis shrinks, or during teardown) leaves nothing once the next run has started:
no process carrying the run's label, no scratch folder, no mount of its root filesystems.

The moments are drawn from a seeded generator; a failure names the seed, the signal and the
delay, so it can be repeated (MTA_HARNESS_KILL_SEED=<seed>).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.backends.local import LocalBackend
from harness.reaper import labelled_processes
from harness.runtime import runtime_root

pytestmark = pytest.mark.integration

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
SEED = int(os.environ.get("MTA_HARNESS_KILL_SEED", time.time_ns() % 2**32))


def run_leftovers(run_id: str) -> list[str]:
    left = [f"process {p}" for p, (run, _o) in labelled_processes().items() if run == run_id]
    if (runtime_root() / "runs" / run_id).exists():
        left.append(f"folder {runtime_root() / 'runs' / run_id}")
    mounts = Path("/proc/self/mountinfo").read_text()
    left += [f"mount {line.split()[4]}" for line in mounts.splitlines() if run_id in line]
    return left


@pytest.mark.parametrize("attempt", range(6))
def test_a_run_killed_at_a_random_moment_leaves_nothing(tmp_path: Path, attempt: int) -> None:
    chance = random.Random(SEED * 100 + attempt)
    sig = chance.choice(SIGNALS)
    delay = chance.uniform(0.0, 6.0)  # from before the world is up to deep in the examples
    mta = chance.choice(["seedmta-sync", "postfix-hol"])  # both fail: shrinking happens
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "certify", "--mta", mta, "--reports", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(delay)  # the moment of the kill is the thing under test, not a wait for an event
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"seed {SEED}: {sig.name} at {delay:.2f} s: the run did not exit in 60 s")
    runs = [p.name for p in tmp_path.iterdir()]
    run_id = runs[0] if runs else None
    LocalBackend().close()  # the next run starting (and stopping) reaps what is left
    if run_id is not None:
        left = run_leftovers(run_id)
        assert left == [], f"seed {SEED}: {sig.name} at {delay:.2f} s on {mta} left {left}"
    if sig != signal.SIGKILL:
        # Interrupted: never a verdict. 130, or killed outright by SIGTERM if it came before
        # the run installed its handler (nothing had started then).
        assert proc.returncode in (130, -sig), (
            f"seed {SEED}: {sig.name} at {delay:.2f} s on {mta}: exit {proc.returncode}"
        )
