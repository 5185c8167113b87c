"""pytest-xdist workers each get their own world (addresses, ports, Toxiproxy, sites, MTA)
and their own Hypothesis database, and never see each other's mail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SUITE = """
import json, os
from pathlib import Path
from hypothesis import settings
from harness.clock import Deadline

OUT = Path(os.environ["XDIST_PROBE_OUT"])


def probe(world, example, name):
    sent = [example.submit(example.site(i % 2)) for i in range(4)]
    assert example.ledger.wait_until(lambda rs: all(r.settled for r in rs), Deadline.after(15))
    (OUT / f"{name}.json").write_text(json.dumps({
        "worker": os.environ.get("PYTEST_XDIST_WORKER"),
        "mta": str(world.plan.listen),
        "toxiproxy": world.toxiproxy.base,
        "links": sorted(str(link.listen) for link in world.links.values()),
        "sites": sorted(str(site.listen) for site in world.sites.values()),
        "database": str(getattr(settings.default.database, "path", None)),
        "strays": example.ledger.strays(),
        "arrivals": [len(r.arrivals) for r in sent],
    }))


def test_one(world, example):
    probe(world, example, "one")


def test_two(world, example):
    probe(world, example, "two")
"""


def test_two_workers_share_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(SUITE)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "load",
            "-p",
            "no:cacheprovider",
            "--harness-profile=thorough",
            f"--harness-report={tmp_path / 'report'}",
            str(tmp_path / "test_probe.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        # Hypothesis drops its database when it sees CI; this test is about the database.
        env={**{k: v for k, v in os.environ.items() if k != "CI"}, "XDIST_PROBE_OUT": str(out)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    one, two = (json.loads((out / f"{n}.json").read_text()) for n in ("one", "two"))
    if one["worker"] == two["worker"]:
        pytest.fail(f"both tests ran on {one['worker']}: nothing was shown about two workers")
    for key in ("mta", "toxiproxy", "database"):
        assert one[key] != two[key], key
    assert not set(one["links"]) & set(two["links"])
    assert not set(one["sites"]) & set(two["sites"])
    assert one["database"].endswith(f"examples-{one['worker']}")
    for probe in (one, two):
        assert probe["strays"] == [], "a worker saw mail it did not send"
        assert probe["arrivals"] == [1, 1, 1, 1]
    # Each worker keeps its own run record and page in the shared report folder.
    for worker in (one["worker"], two["worker"]):
        record = json.loads((tmp_path / "report" / f"results-{worker}.json").read_text())
        assert record["partial"] is False and record["tests"]
        # The probes judge no example: a record that judged nothing is never a pass.
        assert record["verdict"] == "ERROR"
        assert "passed without recording an example" in record["unjudged"][0]
        assert (tmp_path / "report" / f"report-{worker}.html").exists()
