"""The mutation check: for each deliberate break of the verdict path (tests/plugins/mutants.py:
a claim that always holds, a ledger that drops arrivals, an excuse for every duplicate, a
bounce always accepted, exit codes swapped, a record that loses examples, ...), the verdict
path's own fast tests must fail. A break no test notices is a hole in the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The verdict path's fast tests (no world started): claims, ledger, record, workload, files.
VERDICT_TESTS = [
    "tests/unit/test_claims.py",
    "tests/unit/test_ledger.py",
    "tests/unit/test_verdicts.py",
    "tests/unit/test_workload.py",
    "tests/unit/test_scenario.py",
    "tests/unit/test_scenario_file.py",
]

sys.path.insert(0, str(REPO / "tests" / "plugins"))
from mutants import MUTANTS  # noqa: E402


def run_with(mutant: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "tests" / "plugins"),
        "MTA_HARNESS_MUTANT": mutant,
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "-p", "mutants", *VERDICT_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_break_of_the_verdict_path_fails_some_test() -> None:
    assert len(MUTANTS) >= 5
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(["", *MUTANTS], pool.map(run_with, ["", *MUTANTS]), strict=True))
    control = runs.pop("")
    assert control.returncode == 0, "unbroken, the tests must pass:\n" + control.stdout[-2000:]
    survived = [name for name, done in runs.items() if done.returncode != 1]
    assert not survived, "breaks no test noticed: " + ", ".join(
        f"{name} (exit {runs[name].returncode}): {runs[name].stdout[-500:]}" for name in survived
    )
