"""Benchmark: how much sustained mail the load workload carries through an MTA here, and where
the ceiling is.

Plays ``fixtures/scenarios/load/dead-link-under-load.toml`` (three sites, four submission
sessions, site-a's link dead from 8 s to 16 s) with ``--load RATE`` at rising rates, and
reads from each run record: the rate the harness offered, the rate the MTA accepted, the
rate the healthy sites received before the fault (the baseline) and while it was on, and
the healthy mail's p99 latency. Where accepted falls below offered, the submission side (the
MTA's intake, or the harness's own four sessions) is the ceiling; where arrivals fall below
accepted, the MTA's delivery is.

Each row also gives the busiest second any site had (the burst after the heal included) as a
share of one site's capacity, measured by ``bench/site_throughput.py`` (run it first): the
sites must stay below half of it, or the load measures them instead of the MTA.

Run: ``.venv/bin/python bench/load_ceiling.py [--mta postfix] [--rate 20 --rate 50 ...]``.
Prints a table and writes ``bench/results/load_ceiling.json``. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _results import save  # bench/_results.py, beside this script

from harness.sites.program import site_argv

SUITE = Path(__file__).resolve().parent.parent / "suites" / "test_load.py"
#: The load file's own shape: 24 s of load, the fault from 8 s to 16 s.
DURATION, FAULT_FROM = 24.0, 8.0


def play(mta: str, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / Path(scratch).name  # its name is the run's id: unique
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(SUITE),
                "-q",
                "-p",
                "no:cacheprovider",
                f"--mta={mta}",
                f"--load={rate}",
                f"--harness-report={report}",
                "--harness-progress=off",
            ],
            capture_output=True,
            timeout=1800,
            check=False,
        )
        record = json.loads((report / "results.json").read_text())
    (example,) = record["examples"]
    messages = example["messages"]
    accepted = [m for m in messages if m["accepted_at"] is not None]
    window = [m for m in accepted if 1.0 <= m["accepted_at"] < FAULT_FROM]
    (claim,) = [c for c in example["claims"] if c["name"] == "healthy_throughput"]
    per_second: dict[tuple[str, int], int] = {}
    for m in messages:
        if m["arrivals"]:
            key = (m["site"], int(min(a["at"] for a in m["arrivals"])))
            per_second[key] = per_second.get(key, 0) + 1
    figures = claim["figures"]
    return {
        "mta": mta,
        "offered": rate,
        "sent": len(messages),
        "accepted_before_fault_per_s": len(window) / (FAULT_FROM - 1.0),
        "healthy_offered_per_s": rate * 2 / 3,
        "healthy_baseline_per_s": figures.get("baseline_rate"),
        "healthy_faulted_per_s": figures.get("faulted_rate"),
        "ratio": figures.get("ratio"),
        "p99_s": figures.get("p99"),
        "busiest_site_second": max(per_second.values(), default=0),
        "verdict": record["verdict"],
    }


def site_capacity() -> float | None:
    """One site's messages a second (bench/site_throughput.py's figure), for the program the
    sites of this run are (harness.sites.program)."""
    path = Path(__file__).parent / "results" / "site_throughput.json"
    if not path.exists():
        return None
    results = json.loads(path.read_text())["results"]
    program = site_argv("site-a", "127.0.0.1:25")[0]
    row = "aiosmtpd site, 1 acceptor(s)" if program == sys.executable else "compiled site"
    ones = [r["per_second"] for n, r in results.items() if n.startswith(row)]
    return ones[0] if ones else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mta", default="postfix")
    parser.add_argument("--rate", type=float, action="append", dest="rates")
    args = parser.parse_args()
    rows = [play(args.mta, rate) for rate in args.rates or [20, 50, 100, 200, 400]]
    capacity = site_capacity()
    for row in rows:
        row["site_capacity_share"] = row["busiest_site_second"] / capacity if capacity else None
    print(
        f"{'offered/s':>10}{'accepted/s':>12}{'healthy offered':>16}{'baseline':>10}"
        f"{'faulted':>9}{'ratio':>7}{'p99 s':>7}{'site peak':>10}{'of cap.':>8}  verdict"
    )
    for r in rows:
        print(
            f"{r['offered']:>10.0f}{r['accepted_before_fault_per_s']:>12.1f}"
            f"{r['healthy_offered_per_s']:>16.1f}{r['healthy_baseline_per_s'] or 0:>10.1f}"
            f"{r['healthy_faulted_per_s'] or 0:>9.1f}{r['ratio'] or 0:>7.2f}"
            f"{r['p99_s'] if r['p99_s'] is not None else float('nan'):>7.2f}"
            f"{r['busiest_site_second']:>10}{r['site_capacity_share'] or float('nan'):>8.0%}"
            f"  {r['verdict']}"
        )
    save("load_ceiling", {"site_capacity_per_s": capacity, "results": rows})


if __name__ == "__main__":
    main()
