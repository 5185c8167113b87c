"""`mta-harness replay`: the seed's outage, written as a file, judges MTAs both ways; and
every file in fixtures/scenarios is part of the regression suite."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from harness.scenario_file import SCENARIOS

from ..conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "suites"


#: What a build breaks on the seed outage beside the seed's claim: maddy bounces the dead
#: site's mail when the link, healed, closes its connection before the greeting (EOF, which
#: maddy 0.8.1 takes for a permanent failure: 550 5.4.0 "No usable MXs, last err: EOF").
ALSO: dict[str, list[str]] = defaultdict(list, {"maddy-hol": ["no_loss"]})


@pytest.mark.integration
@pytest.mark.parametrize(
    ("mta", "verdict"),
    [
        ("seedmta-sync", "FAIL"),
        ("seedmta-async", "PASS"),
        ("postfix", "PASS"),
        ("postfix-hol", "FAIL"),
        ("sendmail", "PASS"),
        ("courier-hol", "FAIL"),  # one delivery at a time: the dead site holds it
        ("haraka-hol", "FAIL"),  # concurrency_max = 1: the same
        ("maddy-hol", "FAIL"),  # max_parallelism 1: the same (routed by MX)
    ],
)
def test_the_seed_outage_file_passes_the_fix_and_fails_the_bug(
    tmp_path: Path, mta: str, verdict: str
) -> None:
    done = run_cli(
        "replay",
        str(SCENARIOS / "q193760.toml"),
        "--mta",
        mta,
        "--reports",
        str(tmp_path),
        timeout=300,
    )
    assert done.returncode == {"PASS": 0, "FAIL": 1}[verdict], done.stdout[-3000:]
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == verdict
    (example,) = results["examples"]
    broken = [p["name"] for p in example["claims"] if not p["holds"]]
    assert broken == ([] if verdict == "PASS" else ["healthy_sites_keep_flowing", *ALSO[mta]])
    assert example["scenario"]["healthy"] == ["site-b", "site-c"]
    assert (run_dir / "junit.xml").exists() and (run_dir / "report.html").exists()
    assert not (run_dir / "certificate.json").exists(), "a replay certifies nothing"


def test_every_library_file_is_in_the_regression_suite() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(SUITES / "test_scenarios.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    collected = {
        line.split("[", 1)[1].rstrip("]")
        for line in done.stdout.splitlines()
        if "test_scenario[" in line
    }
    assert collected == {p.stem for p in SCENARIOS.glob("*.toml")}


@pytest.mark.integration
def test_a_users_fragment_reaches_the_mta_and_is_certified_with_it(tmp_path: Path) -> None:
    """One smtp process (a fragment) turns stock Postfix into one that stalls healthy sites,
    and the run's identity records the configuration that was actually used."""
    fragment = tmp_path / "one-smtp.cf"
    fragment.write_text("# one delivery process for everything\ndefault_process_limit = 1\n")
    stock = run_cli(
        "replay",
        str(SCENARIOS / "q193760.toml"),
        "--mta=postfix",
        f"--reports={tmp_path / 'stock'}",
        timeout=300,
    )
    done = run_cli(
        "replay",
        str(SCENARIOS / "q193760.toml"),
        "--mta=postfix",
        f"--mta-config={fragment}",
        f"--reports={tmp_path / 'mine'}",
        timeout=300,
    )
    assert stock.returncode == 0, stock.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    digests = [
        json.loads(next((tmp_path / name).glob("*/results.json")).read_text())["identity"][
            "config_digest"
        ]
        for name in ("stock", "mine")
    ]
    assert digests[0] != digests[1]


@pytest.mark.integration
def test_a_bounce_after_a_transient_fault_is_a_lost_delivery(tmp_path: Path) -> None:
    """Postfix told to try once bounces site-a's mail on its 451: bounced, but the site never
    refused it for good, so the delivery was lost. Stock Postfix keeps it and delivers it."""
    verdicts = {}
    for name, extra in (
        ("stock", []),
        ("try-once", [f"--mta-config={REPO / 'fixtures/mta-config/postfix-try-once.cf'}"]),
    ):
        done = run_cli(
            "replay",
            str(SCENARIOS / "tempfail-site.toml"),
            "--mta=postfix",
            *extra,
            f"--reports={tmp_path / name}",
            timeout=300,
        )
        results = json.loads(next((tmp_path / name).glob("*/results.json")).read_text())
        (example,) = results["examples"]
        verdicts[name] = (done.returncode, {c["name"]: c for c in example["claims"]})
    code, claims = verdicts["stock"]
    assert code == 0 and claims["no_loss"]["verdict"] == "holds", claims["no_loss"]
    code, claims = verdicts["try-once"]
    assert code == 1, claims
    assert claims["no_loss"]["verdict"] == "broken"
    assert "bounced on a transient fault" in claims["no_loss"]["summary"]
    assert claims["healthy_sites_keep_flowing"]["verdict"] == "holds"


TRICKLE = """\
name = "trickle"

[topology]
sites = 2

[[timeline]]
do = "fault"
link = "site-a"
fault = "blackhole"

[[timeline]]
do = "send"
to = ["site-a"]

[[timeline]]
do = "trickle"
to = "site-b"
count = 6

[[timeline]]
do = "heal"
link = "site-a"
"""


@pytest.mark.integration
def test_a_trickle_sends_each_message_once_the_one_before_arrived(tmp_path: Path) -> None:
    scenario = tmp_path / "trickle.toml"
    scenario.write_text(TRICKLE)
    reports = tmp_path / "reports"
    done = run_cli(
        "replay", str(scenario), "--mta", "seedmta-async", "--reports", str(reports), timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:]
    (run_dir,) = reports.iterdir()
    (example,) = json.loads((run_dir / "results.json").read_text())["examples"]
    trickled = sorted(
        (m for m in example["messages"] if m["site"] == "site-b"), key=lambda m: m["submitted_at"]
    )
    assert len(trickled) == 6 and all(m["status"] == "delivered" for m in trickled)
    for before, after in itertools.pairwise(trickled):
        arrived = min(a["at"] for a in before["arrivals"])
        assert after["submitted_at"] >= arrived, (before, after)


@pytest.mark.long
@pytest.mark.integration
def test_a_dead_sites_backlog_fills_chasquids_queue_and_healthy_mail_is_refused(
    tmp_path: Path,
) -> None:
    """Stock chasquid 1.11 queues at most 200 messages (compiled in): a dead site's backlog
    fills it and the healthy sites' mail is refused at submission, in chasquid's own words."""
    done = run_cli(
        "replay",
        str(SCENARIOS / "backlog" / "dead-site-backlog.toml"),
        "--mta",
        "chasquid",
        "--reports",
        str(tmp_path),
        timeout=300,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    (run_dir,) = tmp_path.iterdir()
    (example,) = json.loads((run_dir / "results.json").read_text())["examples"]
    healthy = [m for m in example["messages"] if m["site"] in ("site-b", "site-c")]
    assert [m["status"] for m in healthy] == ["refused", "refused"]
    assert all("Queue size too big" in m["refusal"] for m in healthy)


@pytest.mark.long
@pytest.mark.integration
@pytest.mark.parametrize(("mta", "verdict"), [("postfix", "PASS"), ("postfix-hol", "FAIL")])
def test_a_dead_link_under_sustained_load_keeps_the_healthy_rate_only_on_the_fix(
    tmp_path: Path, mta: str, verdict: str
) -> None:
    """20 messages a second to three sites; site-a's link dead from 8 to 16 s. Stock Postfix
    keeps the healthy sites' rate; one smtp process (postfix-hol) loses it."""
    done = run_cli(
        "replay",
        str(SCENARIOS / "load" / "dead-link-under-load.toml"),
        "--mta",
        mta,
        "--reports",
        str(tmp_path),
        timeout=400,
    )
    assert done.returncode == {"PASS": 0, "FAIL": 1}[verdict], done.stdout[-3000:]
    (run_dir,) = tmp_path.iterdir()
    (example,) = json.loads((run_dir / "results.json").read_text())["examples"]
    (throughput,) = [c for c in example["claims"] if c["name"] == "healthy_throughput"]
    assert throughput["verdict"] == ("holds" if verdict == "PASS" else "broken")
    if verdict == "PASS":
        assert throughput["figures"]["ratio"] >= 0.8
    else:
        assert throughput["figures"]["ratio"] < 0.8, throughput["summary"]
    assert len(example["messages"]) == 480
    assert "Throughput over time" in (run_dir / "report.html").read_text()
