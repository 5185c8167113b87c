"""End to end: the property suite certifies the fixed model and catches the seed's bug."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def certify(tmp_path: Path, mta: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "certify", "--mta", mta, "--reports", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "junit.xml").exists()
    return done, json.loads((run_dir / "results.json").read_text())


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


def test_the_seed_bug_is_caught_and_shrunk_to_two_sites_one_dead_link(tmp_path: Path) -> None:
    done, results = certify(tmp_path, "seedmta-sync")
    assert done.returncode == 1, done.stdout[-3000:]
    assert results["verdict"] == "FAIL"
    (counterexample,) = [
        c
        for test, c in results["counterexamples"].items()
        if test.endswith("test_one_dead_link_never_stalls_healthy_sites")
    ]
    assert counterexample["scenario"]["sites"] == 2
    assert len(counterexample["scenario"]["faults"]) == 1
    broken = [p["name"] for p in counterexample["properties"] if not p["holds"]]
    assert broken == ["healthy_sites_keep_flowing"]
    # The fixed long-session outage catches it too.
    assert any(
        t.endswith("test_a_long_session_keeps_healthy_mail_flowing")
        for t in results["counterexamples"]
    )
    assert "Counterexample (shrunk) from" in done.stdout
    assert "healthy message" in done.stdout and "site-b" in done.stdout
    junit = ET.parse(next(tmp_path.iterdir()) / "junit.xml").getroot()
    assert junit.find(".//failure") is not None
