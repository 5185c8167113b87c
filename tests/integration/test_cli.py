"""Bad input gets one clear line and exit status 2, with nothing started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.reaper import labelled_processes
from harness.runtime import runtime_root

from ..conftest import STATIC_ONLY_MTA


def mta_harness(
    *args: str, cwd: Path | None = None
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run the CLI; returns its pid (to find anything it started) and what it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    out, err = proc.communicate(timeout=120)
    return proc.pid, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def started_by(pid: int) -> list[str]:
    """Labelled processes and run folders owned by process ``pid`` (other tests' are not)."""
    found = [
        f"process {p}"
        for p, (_run, owner) in labelled_processes().items()
        if owner.startswith(f"{pid}:")
    ]
    runs = runtime_root() / "runs"
    for folder in runs.iterdir() if runs.is_dir() else []:
        owner = folder / "owner"
        if owner.exists() and owner.read_text().startswith(f"{pid}:"):
            found.append(f"folder {folder}")
    return found


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["certify", "--mta", "sendmail-1987"], "unknown MTA 'sendmail-1987'; available:"),
        (["certify", "--bound", "0"], "--bound: must be more than 0 seconds"),
        (["certify", "--bound", "soon"], "--bound: expected seconds, got 'soon'"),
        (["certify", "--recovery-bound", "nan"], "--recovery-bound: must be more than 0"),
        (["certify", "--backend", "kubernetes"], "--backend: invalid choice: 'kubernetes'"),
        (["certify", "--suites", "/nonexistent"], "--suites /nonexistent: no such file"),
        (["certify", "--faults", "dns"], "--faults dns faults the MTA's MX lookups: it needs"),
        (["certify", "--faults", "smtp"], "--faults: invalid choice: 'smtp'"),
        (
            ["certify", "--mta", STATIC_ONLY_MTA, "--routing", "dns"],
            "postfix-from-template is routed static only",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_2(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    pid, done = mta_harness(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert complaint in done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1
    assert not (tmp_path / "reports").exists()  # nothing half-started
    assert started_by(pid) == []


def test_list_names_mtas_backends_and_faults() -> None:
    _pid, done = mta_harness("list")
    assert done.returncode == 0
    assert "seedmta-sync" in done.stdout and "blackhole" in done.stdout


def test_the_exit_status_survives_an_interrupt_caught_inside_exec_code() -> None:
    """A KeyboardInterrupt that escaped exec()'d code and was caught (a SIGTERM landing in one
    of Hypothesis's generated wrappers) must not turn the CLI's exit status into a SIGINT death:
    CPython remembers it, and ``python -m`` kills itself with SIGINT at exit unless cleared."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.interrupt_caught_before_main", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "seedmta-sync" in done.stdout
