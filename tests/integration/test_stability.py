"""``mta-harness stability``: repeated certifications, counted against the expected verdict.

Each run here plays the Q193760 scenario file alone (a user's own one-test suite), so a
certification takes seconds; the 50-run figures come from ``make stability``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from harness.clock import Deadline
from harness.reaper import labelled_processes
from harness.scenario_file import SCENARIOS
from harness.stability import cpu_hog

from ..conftest import WORLD_UP, run_cli, spawn_cli

ONE_SCENARIO_SUITE = f"""
from pathlib import Path

from harness.scenario import play
from harness.scenario_file import load_outage

def test_q193760(world, outage_settings, example_log):
    outage = load_outage(Path({str(SCENARIOS / "q193760.toml")!r}))
    result = play(world, outage, outage_settings.bounds(outage))
    example_log.add(result)
    result.check()
"""


def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite" / "test_q193760.py"
    path.parent.mkdir()
    path.write_text(ONE_SCENARIO_SUITE)
    return path


def record(reports: Path) -> dict:
    (folder,) = reports.glob("stability-*")
    return json.loads((folder / "stability.json").read_text())


def hogs(reports: Path | None = None) -> list[int]:
    """The hog processes of the stability session recorded under ``reports`` (of this
    test alone: other sessions may be running beside it), or of a bare cpu_hog()."""
    if reports is None:
        name = "cpu-hog"
    else:
        (folder,) = reports.glob("stability-*")
        name = f"cpu-hog-{folder.name}"
    return [pid for pid, (run, _) in labelled_processes().items() if run == name]


@pytest.mark.long
def test_expected_verdicts_under_a_cpu_hog_are_counted(tmp_path: Path) -> None:
    # One run each: how often a verdict is right is measured by `make stability` (200 runs,
    # docs/reliability.md); here, that the command counts it under a hog and stops the hog.
    reports = tmp_path / "reports"
    done = run_cli(
        "stability",
        "--mta=seedmta-sync",
        "--mta=seedmta-async",
        "--runs=1",
        "--cpu-hog=1",
        f"--suites={suite(tmp_path)}",
        f"--reports={reports}",
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = record(reports)
    verdicts = {m["mta"]: [r["verdict"] for r in m["runs"]] for m in data["mtas"]}
    assert verdicts == {"seedmta-sync": ["FAIL"], "seedmta-async": ["PASS"]}
    assert all(m["false_verdicts"] == 0 for m in data["mtas"])
    assert data["cpu_hog"] == 1
    # Each certification kept its own run folder, with the seed that repeats it.
    for mta in data["mtas"]:
        for run in mta["runs"]:
            assert (Path(run["run_dir"]) / "results.json").exists()
    table = next(reports.glob("stability-*/stability.md")).read_text()
    assert "| seedmta-sync | FAIL | 1 | 0 | 1 | 0 | 0 |" in table
    assert not hogs(reports), "the CPU hog outlived the command"


def test_a_verdict_other_than_the_expected_one_is_counted_and_fails_the_command(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    done = run_cli(
        "stability",
        "--mta=seedmta-sync",
        "--expect=seedmta-sync=PASS",
        "--runs=1",
        f"--suites={suite(tmp_path)}",
        f"--reports={reports}",
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (mta,) = record(reports)["mtas"]
    assert mta["false_verdicts"] == 1
    assert "not the expected verdict" in done.stdout
    assert "Runs that did not give the expected verdict" in done.stdout


def test_bad_expectations_are_refused_before_anything_runs(tmp_path: Path) -> None:
    for args, words in [
        (["--mta=postfix", "--expect=postfix=MAYBE"], "MTA=PASS or MTA=FAIL"),
        (["--mta=postfix", "--expect=exim=PASS"], "for an MTA given with --mta"),
        (["--mta=postfix", "--runs=0"], "must be 1 or more"),
        (["--mta=postfix", "--cpu-hog=-1"], "0 to 64"),
        (["--mta=postfix", "--suites=/nonexistent"], "no such file"),
    ]:
        done = run_cli("stability", *args, f"--reports={tmp_path}", timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir()), "a refused command created a record"


def test_a_stopped_session_keeps_its_figures_and_leaves_no_hog(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = spawn_cli(
        "stability",
        "--mta=seedmta-async",
        "--runs=5",
        "--cpu-hog=1",
        f"--suites={suite(tmp_path)}",
        f"--reports={reports}",
    )
    assert proc.stdout is not None
    worlds = []
    for line in proc.stdout:
        worlds += WORLD_UP.findall(line)
        if len(worlds) == 2:  # one run recorded, the second's world up: stop it there
            assert hogs(reports), "no CPU hog beside the certifications"
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stdout.read()
    worlds += WORLD_UP.findall(rest)
    assert proc.wait(timeout=180) == 130, rest
    assert "INTERRUPTED after" in rest
    runs = record(reports)["mtas"][0]["runs"]
    assert runs[0]["verdict"] == "PASS"
    assert len(runs) <= 2 and all(r["verdict"] in ("PASS", "INTERRUPTED") for r in runs)
    assert not hogs(reports), "the CPU hog outlived the command"
    left = [pid for pid, (run, _) in labelled_processes().items() if run in worlds]
    assert not left, f"processes of the stopped certifications remain: {left}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_the_hog_really_burns_cpu_and_is_gone_afterwards() -> None:
    with cpu_hog(1) as pids:
        (pid,) = pids
        # Busy means it keeps using CPU: half a second of it, within a generous deadline
        # (the machine may be loaded by other tests). Its labels show once it has exec'd
        # (until then /proc shows the parent's environment), so they are checked after.
        deadline = Deadline.after(30)
        while cpu_seconds(pid) < 0.5:
            assert not deadline.passed(), f"the hog used only {cpu_seconds(pid):.2f} s of CPU"
            time.sleep(0.05)  # a poll of /proc: the event has no other signal
        assert pid in hogs()
    assert pid not in hogs()
