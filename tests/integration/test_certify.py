"""End to end: the property suite certifies the fixed model and catches the seed's bug."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ..conftest import run_cli

pytestmark = pytest.mark.integration


def certify(tmp_path: Path, mta: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = run_cli("certify", "--mta", mta, "--reports", str(tmp_path), *extra, timeout=900)
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "junit.xml").exists()
    return done, json.loads((run_dir / "results.json").read_text())


@pytest.mark.long
def test_the_fixed_model_is_certified(tmp_path: Path) -> None:
    done, results = certify(tmp_path, "seedmta-async")
    assert done.returncode == 0, done.stdout[-3000:]
    assert results["verdict"] == "PASS" and results["partial"] is False
    assert results["examples_run"] >= 10
    assert results["failing_examples"] == 0
    assert results["identity"]["name"] == "seedmta-async"
    assert "PASS: seedmta-async" in done.stdout
    (run_dir,) = tmp_path.iterdir()
    assert list(run_dir.glob("logs-*/seedmta-async.log")), "the MTA's log is kept as evidence"
    # Its certificate names the suites as the project does, and verifies against this checkout.
    cert = json.loads((run_dir / "certificate.json").read_text())
    assert cert["suites"] == ["suites/test_head_of_line.py", "suites/test_scenarios.py"]
    assert cert["provenance"]["suite_digest"].startswith("sha256:")
    assert cert["provenance"]["fragment_digest"] is None
    verified = run_cli("verify", str(run_dir))
    assert verified.returncode == 0, verified.stdout
    assert "suites           match" in verified.stdout


@pytest.fixture(scope="module")
def sync_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str], dict]:
    """One certification of the seed's bug, shared by the tests that read it."""
    reports = tmp_path_factory.mktemp("certify-sync")
    # Budget enough to shrink all the way (the default minute may stop a step short).
    done, results = certify(reports, "seedmta-sync", "--shrink-budget", "180")
    return reports, done, results


@pytest.mark.xdist_group("seedmta-sync-certification")  # one run, one worker
def test_the_seed_bug_is_caught_and_shrunk_to_two_sites_one_dead_link(
    sync_run: tuple[Path, subprocess.CompletedProcess[str], dict],
) -> None:
    tmp_path, done, results = sync_run
    assert done.returncode == 1, done.stdout[-3000:]
    assert results["verdict"] == "FAIL"
    (counterexample,) = [
        c
        for c in results["counterexamples"].values()
        if c["test"].endswith("test_one_dead_link_never_stalls_healthy_sites")
    ]
    assert counterexample["scenario"]["sites"] == 2
    assert len([s for s in counterexample["scenario"]["steps"] if s["do"] == "fault"]) == 1
    broken = [p["name"] for p in counterexample["claims"] if not p["holds"]]
    assert broken == ["healthy_sites_keep_flowing"]
    # The fixed long-session outage catches it too.
    assert any(
        c["test"].endswith("test_a_long_session_keeps_healthy_mail_flowing")
        for c in results["counterexamples"].values()
    )
    assert "Counterexample (shrunk) from" in done.stdout
    assert "healthy message" in done.stdout and "site-b" in done.stdout
    junit = ET.parse(next(tmp_path.iterdir()) / "junit.xml").getroot()
    assert junit.find(".//failure") is not None
    claims = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert claims["claim:healthy_sites_keep_flowing"].startswith(
        "healthy_sites_keep_flowing: broken"
    )
    assert claims["claim:no_loss"].startswith("no_loss: holds")


@pytest.mark.xdist_group("seedmta-sync-certification")  # one run, one worker
def test_a_failing_certification_leaves_a_counterexample_that_replays_to_the_same_failure(
    tmp_path: Path, sync_run: tuple[Path, subprocess.CompletedProcess[str], dict]
) -> None:
    reports, done, results = sync_run
    assert done.returncode == 1, done.stdout[-3000:]
    (run_dir,) = reports.iterdir()
    counterexample = next(
        c
        for c in results["counterexamples"].values()
        if c["test"].endswith("never_stalls_healthy_sites")
    )
    written = Path(counterexample["file"])
    assert written.parent == run_dir and written.suffix == ".toml"
    assert f"mta-harness replay {written}" in done.stdout
    broken = {p["name"] for p in counterexample["claims"] if not p["holds"]}

    replayed = run_cli("replay", str(written), "--reports", str(tmp_path / "replay"), timeout=300)
    assert replayed.returncode == 1, replayed.stdout[-3000:]
    assert "against seedmta-sync on local" in replayed.stdout  # the file names its MTA
    (replay_dir,) = (tmp_path / "replay").iterdir()
    again = json.loads((replay_dir / "results.json").read_text())
    (example,) = again["examples"]
    assert {p["name"] for p in example["claims"] if not p["holds"]} == broken
    assert example["scenario"]["steps"] == counterexample["scenario"]["steps"]

    # What was certified, in both forms, with the seed that repeats the run.
    certificate = json.loads((run_dir / "certificate.json").read_text())
    assert certificate["verdict"] == "FAIL"
    assert certificate["mta"]["name"] == "seedmta-sync"
    assert certificate["mta"]["config_digest"].startswith("sha256:")
    assert isinstance(certificate["seed"], int)
    assert certificate["examples_run"] == results["examples_run"]
    assert certificate["bounds"] == {
        "delivery": 3.0,
        "recovery": 30.0,
        "retry": 30.0,
        "require_recovery": False,
    }
    assert certificate["canary"]["verdict"] == "FAIL"
    assert [c["name"] for c in certificate["claims"]][:2] == [
        "healthy_sites_keep_flowing",
        "no_loss",
    ]
    markdown = (run_dir / "certificate.md").read_text()
    assert "**FAIL**" in markdown and f"--seed {certificate['seed']}" in markdown
    assert (run_dir / "report.html").exists()


def test_a_suite_that_judges_nothing_is_no_pass(tmp_path: Path) -> None:
    # A suite whose test passes without playing an example, beside an empty scenario
    # library (a skipped parametrisation): nothing was judged, so no PASS.
    suite = tmp_path / "suite" / "test_nothing.py"
    suite.parent.mkdir()
    suite.write_text(
        "import pytest\n\n"
        "def test_passes_without_judging(world):\n"
        "    assert world.adapter.name\n\n"
        "@pytest.mark.parametrize('path', [])\n"
        "def test_empty_library(path):\n"
        "    raise AssertionError(path)\n"
    )
    done, results = certify(tmp_path / "reports", "seedmta-async", "--suites", str(suite))
    assert done.returncode == 3, done.stdout[-3000:]
    assert results["verdict"] == "ERROR"
    assert "passed without recording an example" in done.stdout
    assert results["examples_judged"] == 0
