"""Broken parts: a part of the harness dying mid-run makes the verdict ERROR and says which
part; the MTA dying is the MTA's failure (FAIL), with its last output as evidence."""

from __future__ import annotations

import json
import os
import signal
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.claims import Bounds
from harness.errors import HarnessError
from harness.reaper import labelled_processes
from harness.scenario import play
from harness.timeline import Cut, Heal, Outage, Send

from ..conftest import StartWorld, run_cli, start_run

pytestmark = pytest.mark.integration

#: Two seconds of outage: long enough to break something in the middle of it.
OUTAGE = Outage(
    2,
    (
        Cut("site-a", "blackhole", 0.0),
        Send(("site-a", "site-b"), 0.1),
        Send(("site-b",), 1.0),
        Heal("site-a", 2.0),
    ),
)
QUICK = Bounds(delivery=1.0, recovery=2.0)


def kill_at(seconds: float, pid: int) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (pid, signal.SIGKILL))
    timer.start()
    return timer


def test_a_site_dying_mid_example_is_a_harness_error_naming_it(start_world: StartWorld) -> None:
    world = start_world(sites=2)
    kill_at(0.5, world.sites["site-b"].service.pid)  # type: ignore[attr-defined]
    with pytest.raises(HarnessError, match="mock site site-b died"):
        play(world, OUTAGE, QUICK)


def test_the_mta_dying_mid_example_is_the_mtas_failure(start_world: StartWorld) -> None:
    world = start_world("seedmta-async", sites=2)
    assert world.mta_service is not None
    kill_at(0.5, world.mta_service.pid)  # type: ignore[attr-defined]
    result = play(world, OUTAGE, QUICK)
    assert not result.holds
    assert result.mta_died is not None and "exit status -9" in result.mta_died
    assert "the MTA died: exit status -9" in result.explain()
    # The next example starts on a fresh MTA: the world recovers from it.
    again = play(world, OUTAGE, Bounds())
    assert again.mta_died is None


def toxiproxy_of(run_id: str) -> int:
    for pid, (run, _owner) in labelled_processes().items():
        if run != run_id:
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"toxiproxy-server"):
            return pid
    raise AssertionError(f"no Toxiproxy process for run {run_id}")


def test_toxiproxy_dying_mid_run_makes_the_run_an_error_not_a_failure(tmp_path: Path) -> None:
    proc, run_id = start_run(
        "replay",
        str(Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "q193760.toml"),
        "--mta",
        "seedmta-async",
        "--reports",
        str(tmp_path),
    )
    os.kill(toxiproxy_of(run_id), signal.SIGKILL)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 3, out
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "ERROR"
    assert any("Toxiproxy" in error or "toxiproxy" in error for error in results["errors"]), (
        results["errors"]
    )
    junit = ET.parse(run_dir / "junit.xml").getroot()
    assert junit.find(".//error") is not None and junit.find(".//failure") is None


def test_a_suite_that_crashes_is_an_error_not_the_mtas_failure(tmp_path: Path) -> None:
    """Only a property's assertion is a verdict on the MTA; a bug in a suite (here a
    TypeError) means the harness could not judge, so the run is ERROR, exit 3."""
    suite = tmp_path / "suite" / "test_buggy.py"
    suite.parent.mkdir()
    suite.write_text(
        "def test_buggy(world):\n    world.sites['site-a'] + 1  # a slip in a user's suite\n"
    )
    reports = tmp_path / "reports"
    done = run_cli("certify", "--mta=seedmta-async", f"--suites={suite}", f"--reports={reports}")
    assert done.returncode == 3, done.stdout + done.stderr
    (run_dir,) = reports.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "ERROR"
    assert any("TypeError" in error for error in results["errors"]), results["errors"]
    assert not results["failures"]
    junit = ET.parse(run_dir / "junit.xml").getroot()
    assert junit.find(".//error") is not None and junit.find(".//failure") is None
