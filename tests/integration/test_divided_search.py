"""One search divided: shards in processes of their own merged into one certificate (what the
sharded CI recipes in docs/ci/sharded/ run), ``certify -n`` playing those examples (and more)
in one run, and a failure one shard found replayed first by the next through a real Redis server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.clock import Deadline
from harness.net import wait_for_port
from harness.topology import Endpoint

from ..conftest import run_cli

pytestmark = pytest.mark.integration

#: A property suite small enough for three shards and a merge in about a minute. Not steered
#: (hypothesis.target): steered examples follow the MTA's measured latencies, so only drawn
#: ones repeat exactly on another machine.
SUITE = """
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import CERTIFICATION_FAULTS, Judge, World, outages


@settings(max_examples={examples})
@given(data=st.data())
def test_small_search(world: World, judge: Judge, data: st.DataObject) -> None:
    judge(data.draw(outages(kinds=world.fault_kinds(CERTIFICATION_FAULTS)), "outage"))
"""
SEED = "20261207"


def suite(folder: Path, examples: int) -> Path:
    path = folder / "test_small_search.py"
    path.write_text(SUITE.format(examples=examples))
    return path


def drawn(results: dict[str, Any]) -> Counter[str]:
    return Counter(json.dumps(e["scenario"], sort_keys=True) for e in results["examples"])


@pytest.mark.long
def test_shards_on_three_processes_merge_into_the_certificate_n_workers_give(
    tmp_path: Path,
) -> None:
    small = suite(tmp_path, 3)
    common = ["--mta", "seedmta-async", "--suites", str(small), "--seed", SEED]
    shards = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness",
                "certify",
                *common,
                "--shard",
                f"{k}/3",
                "--reports",
                str(tmp_path / "shards" / str(k)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in (1, 2, 3)
    ]
    for proc in shards:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:]
    folders = sorted((tmp_path / "shards").glob("*/*/"))
    assert len(folders) == 3
    merged = run_cli("merge", *map(str, folders), "--out", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "PASS" in merged.stdout
    cert = json.loads((tmp_path / "merged" / "certificate.json").read_text())
    results = json.loads((tmp_path / "merged" / "results.json").read_text())
    parts = [json.loads((f / "results.json").read_text()) for f in folders]
    assert [p["shard"] for p in cert["parts"]] == ["1/3", "2/3", "3/3"]
    assert len({p["seed"] for p in cert["parts"]}) == 3  # three parts of the search, not one
    assert cert["seed"] == int(SEED) and cert["verdict"] == "PASS"
    assert results["examples_run"] == sum(p["examples_run"] for p in parts) == 9
    assert drawn(results) == sum((drawn(p) for p in parts), Counter())
    # The same seed and N on one machine, in one run of three workers: the same examples,
    # and any a worker drew on while another still played its share (harness.plugin.balance).
    workers = run_cli(
        "certify", *common, "-n", "3", "--reports", str(tmp_path / "workers"), timeout=600
    )
    assert workers.returncode == 0, workers.stdout[-3000:]
    (one_run,) = (tmp_path / "workers").iterdir()
    together = json.loads((one_run / "results.json").read_text())
    assert [p["seed"] for p in together["parts"]] == [p["seed"] for p in cert["parts"]]
    assert drawn(results) - drawn(together) == Counter()
    assert all(p["examples_run"] >= 3 for p in together["parts"])


def test_merge_refuses_a_missing_shard(tmp_path: Path) -> None:
    small = suite(tmp_path, 2)
    done = run_cli(
        "certify",
        "--mta",
        "seedmta-async",
        "--suites",
        str(small),
        "--seed",
        SEED,
        "--shard",
        "1/2",
        "--reports",
        str(tmp_path / "r"),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    (folder,) = (tmp_path / "r").iterdir()
    refused = run_cli("merge", str(folder), "--out", str(tmp_path / "merged"))
    assert refused.returncode == 2
    assert "shard(s) 2/2 missing" in refused.stderr
    assert not (tmp_path / "merged").exists()


@pytest.fixture
def redis_url(tmp_path: Path) -> Any:
    """A real Redis server (Debian's redis-server) on loopback, removed after the test."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (make setup installs it as root)")
    import socket

    with socket.socket() as probe:  # a free loopback port for the server to bind
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(
            Endpoint("127.0.0.1", port),
            Deadline.after(10),
            "redis-server",
            alive=lambda: proc.poll() is None,
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def shard_run(folder: Path, small: Path, shard: str, url: str) -> dict[str, Any]:
    # The report folder's name is the run's id, unique on the machine: the test's own in it.
    report = folder / f"{folder.name}-shard-{shard.replace('/', '-of-')}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(small),
            "-q",
            "-p",
            "no:cacheprovider",
            "--mta=seedmta-sync",
            "--harness-profile=ci",
            f"--hypothesis-seed={SEED}",
            f"--shard={shard}",
            f"--example-db={url}",
            "--shrink-budget=20",
            f"--harness-report={report}",
            "--harness-progress=off",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=folder,
    )
    assert done.returncode == 1, done.stdout[-3000:]  # the seed's bug: FAIL, in both shards
    return json.loads((report / "results.json").read_text())


@pytest.mark.long
def test_a_failure_one_shard_found_is_the_first_example_of_the_next(
    tmp_path: Path, redis_url: str
) -> None:
    small = suite(tmp_path, 10)
    first = shard_run(tmp_path, small, "1/2", redis_url)
    (found,) = first["counterexamples"].values()
    from redis import Redis

    assert Redis.from_url(redis_url).dbsize() > 0, "shard 1 saved nothing in the database"
    second = shard_run(tmp_path, small, "2/2", redis_url)
    assert second["seed"] != first["seed"]
    assert second["examples"][0]["scenario"] == found["scenario"], (
        "shard 2 did not start from the failure shard 1 found"
    )
