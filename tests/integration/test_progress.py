"""Progress: a status line redrawn in place on a terminal, plain lines in a pipe (CI logs)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from harness.scenario_file import SCENARIOS

pytestmark = pytest.mark.integration

REPLAY = [sys.executable, "-m", "harness", "replay", str(SCENARIOS / "q193760.toml")]


def test_a_pipe_gets_one_plain_line_per_example(tmp_path: Path) -> None:
    done = subprocess.run(
        [*REPLAY, "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    lines = [line for line in done.stdout.splitlines() if "example 1:" in line]
    assert (
        lines
        == [
            line
            for line in lines
            if line.startswith(
                "mta-harness: example 1: holds (3 sites, faults: site-a blackhole, 6 messages"
            )
        ]
        and len(lines) == 1
    ), done.stdout
    assert "\x1b[" not in done.stdout and "in flight" not in done.stdout


def test_a_terminal_gets_a_status_line_with_faults_and_messages_in_flight(
    tmp_path: Path,
) -> None:
    pid, master = pty.fork()  # the child gets the pty as its controlling terminal
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, [*REPLAY, "--reports", str(tmp_path)])
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break  # the child closed the terminal
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "\r\x1b[2Kmta-harness: 0 example(s) run, 0 failing | faults: site-a: blackhole" in text
    assert "| in flight: " in text
    assert "example 1: holds" not in text, "no plain lines on a terminal"
