"""The drawn search finds what known-bad builds hide, with no fixed example; distinct bugs
stay distinct; and a run whose faults never reach the links ends ERROR by the canary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from harness.strategies import outages
from harness.timeline import Cut, Send, check_steps

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DRAWN = "suites/test_head_of_line.py::test_one_dead_link_never_stalls_healthy_sites"


def certify(
    reports: Path, mta: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "certify",
            "--mta",
            mta,
            "--reports",
            str(reports),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    (run_dir,) = reports.iterdir()
    return done, json.loads((run_dir / "results.json").read_text())


@pytest.mark.long
@pytest.mark.parametrize("mta", ["seedmta-pool", "postfix-pool"])
def test_a_pool_that_dead_links_exhaust_fails_from_the_drawn_property_alone(
    tmp_path: Path, mta: str
) -> None:
    if mta.startswith("postfix") and os.geteuid() != 0:
        pytest.skip("real MTAs run chrooted: needs root")
    # The search divided between two workers (certify -n 2: 40 examples, two seeds derived
    # from 1). One 20-example search with seed 1 misses seedmta-pool (measured 2026-12-07;
    # until then CI's Hypothesis profile derandomized every run, so the seed never applied
    # there); seeds 2 and 3 find it at their 5th example. How often a single search finds
    # each known-bad build is bench/search_power.py's figure, not this test's.
    done, results = certify(tmp_path, mta, "--suites", DRAWN, "--seed", "1", "-n", "2")
    assert done.returncode == 1, done.stdout[-3000:]
    assert len(results["parts"]) == 2
    assert results["counterexamples"]
    for counterexample in results["counterexamples"].values():
        assert counterexample["shrunk"] and counterexample["broken_claim"] == (
            "healthy_sites_keep_flowing"
        )
        # The shrunk outage names the exhaustion: enough mail for sick links to fill a pool
        # of two, in flight when healthy mail waited.
        assert counterexample["figures"]["mail_to_sick"] >= 2, counterexample["explanation"]
        assert "in flight to faulted links" in counterexample["explanation"]


@pytest.mark.long
def test_one_queue_runner_held_by_a_dead_link_fails_from_the_drawn_property_alone(
    tmp_path: Path,
) -> None:
    """sendmail-hol queues everything for one runner: mail arriving while the runner waits
    on a dead site waits with it. Only the drawn search's own timing shows it (the seed's
    outage file can pass it: the runner may take the healthy sites first)."""
    if os.geteuid() != 0:
        pytest.skip("real MTAs run chrooted: needs root")
    done, results = certify(tmp_path, "sendmail-hol", "--suites", DRAWN, "--seed", "1")
    assert done.returncode == 1, done.stdout[-3000:]
    (counterexample,) = results["counterexamples"].values()
    assert counterexample["shrunk"] and counterexample["broken_claim"] == (
        "healthy_sites_keep_flowing"
    )
    assert counterexample["figures"]["mail_to_sick"] >= 1, counterexample["explanation"]
    assert "in flight to faulted links" in counterexample["explanation"]


@pytest.mark.long
@pytest.mark.parametrize(
    ("mta", "layer", "extra"),
    [
        ("postfix-hol", "tls", []),  # one smtp process, held by a stalled or slow handshake
        ("seedmta-sync", "dns", ["--routing", "dns"]),  # lookups in its one delivery loop
    ],
)
def test_a_known_bad_build_fails_from_one_layer_s_drawn_faults_shrunk_to_that_layer(
    tmp_path: Path, mta: str, layer: str, extra: list[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("Postfix runs chrooted and the run's DNS server on port 53: needs root")
    done, results = certify(tmp_path, mta, "--faults", layer, *extra, "--seed", "1")
    assert done.returncode == 1, done.stdout[-3000:]
    (counterexample,) = results["counterexamples"].values()
    assert counterexample["shrunk"] and counterexample["broken_claim"] == (
        "healthy_sites_keep_flowing"
    )
    faults = [s["fault"] for s in counterexample["scenario"]["steps"] if s["do"] == "fault"]
    assert faults and all(f.startswith(f"{layer}-") for f in faults), faults
    assert counterexample["scenario"]["sites"] == 2, counterexample["description"]


@pytest.mark.long
def test_a_build_breaking_two_claims_gets_two_counterexamples_each_shrunk(
    tmp_path: Path,
) -> None:
    # A short recovery bound: every lossy example waits it out before the retry-now.
    done, results = certify(
        tmp_path,
        "seedmta-sync-lossy",
        "--suites",
        DRAWN,
        "--seed",
        "2",
        "--recovery-bound",
        "2",
        "--shrink-budget",
        "120",
    )
    assert done.returncode == 1, done.stdout[-3000:]
    by_claim = {c["broken_claim"]: c for c in results["counterexamples"].values()}
    assert set(by_claim) == {"healthy_sites_keep_flowing", "no_loss"}, by_claim.keys()
    for claim, counterexample in by_claim.items():
        assert counterexample["shrunk"], claim
        verdicts = {c["name"]: c["verdict"] for c in counterexample["claims"]}
        assert verdicts[claim] == "broken"
        assert counterexample["scenario"]["sites"] == 2, counterexample["description"]
    # The loss counterexample is shrunk for loss: no healthy mail has to stall in it.
    assert {c["name"]: c["verdict"] for c in by_claim["no_loss"]["claims"]}[
        "healthy_sites_keep_flowing"
    ] != "broken"
    assert "lost" in by_claim["no_loss"]["explanation"]
    assert done.stdout.count("Counterexample (shrunk)") == 2


def test_a_run_whose_faults_never_reach_the_links_ends_error_by_the_canary(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite" / "test_one.py"
    suite.parent.mkdir()
    suite.write_text(
        "from harness.scenario import Scenario, play\n"
        "def test_one(world, bounds, example_log):\n"
        "    result = play(world, Scenario(2, ((0, 'blackhole'),), (0, 1)), bounds)\n"
        "    example_log.add(result)\n"
        "    result.check()\n"
    )
    broken = {"PYTHONPATH": str(REPO / "tests" / "plugins"), "PYTEST_ADDOPTS": "-p break_faults"}
    # seedmta-sync is known-bad, yet with no fault on its links it passes: the canary
    # (the same known-bad model on the seed's outage) passes too, so nothing can stand.
    done, results = certify(
        tmp_path / "reports", "seedmta-sync", "--suites", str(suite), env=broken
    )
    assert done.returncode == 3, done.stdout[-3000:]
    assert results["verdict"] == "ERROR"
    assert results["canary"]["verdict"] == "PASS"
    assert any("could not make a known-bad MTA fail" in e for e in results["errors"])
    (run_dir,) = (tmp_path / "reports").iterdir()
    certificate = json.loads((run_dir / "certificate.json").read_text())
    assert certificate["verdict"] == "ERROR" and certificate["canary"]["verdict"] == "PASS"
    # Unbroken, the same run passes its canary.
    done, results = certify(tmp_path / "fine", "seedmta-async", "--suites", str(suite))
    assert done.returncode == 0, done.stdout[-3000:]
    assert results["canary"]["verdict"] == "FAIL"


@settings(max_examples=200, deadline=None)
@given(outages(kinds=["blackhole", "refuse", "latency"]))
def test_drawn_outages_are_valid_timelines_with_faults_that_come_and_go(outage: Any) -> None:
    assert check_steps(outage.sites, outage.steps) == []
    sends = [s for s in outage.steps if isinstance(s, Send)]
    assert sends and all(len(s.to) <= 10 for s in sends)
    assert outage.healthy, "at least one site is never faulted"
    cuts = [s for s in outage.steps if isinstance(s, Cut)]
    assert all(c.seconds is None or c.fault == "latency" for c in cuts)


@settings(max_examples=100, deadline=None)
@given(outages())
def test_a_drawn_outage_round_trips_through_a_scenario_file(outage: Any) -> None:
    from harness.claims import Bounds
    from harness.scenario_file import dump_outage, parse_outage

    text = dump_outage(outage, "drawn", None, None, Bounds(), False)
    assert parse_outage(text, "drawn.toml").steps == outage.steps


FLAKY_SUITE = """
from hypothesis import given, strategies as st

from harness.claims import ClaimBroken, Verdict
from harness.claims.healthy import HealthySitesKeepFlowing
from harness.scenario import Scenario, play


class BrokenOnce(ClaimBroken):
    pass


class BreaksOnce(HealthySitesKeepFlowing):
    name = "breaks_once"
    judged = 0

    def judge(self, facts):
        result = super().judge(facts)
        BreaksOnce.judged += 1
        if BreaksOnce.judged == 1:
            result.verdict = Verdict.BROKEN
        return result

    def fail(self, explanation):
        raise BrokenOnce(explanation)


@given(st.just(0))
def test_flaky(world, bounds, example_log, _):
    outage = Scenario(2, ((0, "blackhole"),), (0, 1))
    result = play(world, outage, bounds, claims=[BreaksOnce()])
    example_log.add(result)
    result.check()
"""


def test_a_failure_that_does_not_repeat_is_reported_as_intermittent_never_hidden(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite" / "test_flaky.py"
    suite.parent.mkdir()
    suite.write_text(FLAKY_SUITE)
    done, results = certify(tmp_path / "reports", "seedmta-async", "--suites", str(suite))
    assert done.returncode == 1, done.stdout[-3000:]
    (counterexample,) = results["counterexamples"].values()
    assert counterexample["intermittent"] == "seen in 1 of 5 replays"
    assert "intermittent: seen in 1 of 5 replays" in done.stdout
