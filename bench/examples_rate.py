"""Benchmark: property examples per minute, per MTA and backend, with one and two workers.

One worker: one run of the property test (``suites/test_head_of_line.py``, profile ci, a
fixed seed). Two workers: two such runs side by side with different seeds, each with its own
world (addresses, Toxiproxy, sites, MTA), which is what two pytest-xdist workers do with two
property tests. The rate counts every example judged (shrinking included) over the wall time
of the whole run, world start and teardown included. Target: at least 60 examples per minute
against seedmta-async on local with one worker, and two workers at least 1.6x one.

Run: ``.venv/bin/python bench/examples_rate.py [--mta NAME] [--backend local]``. Prints a
table and writes ``bench/results/examples_rate.json``. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import save  # bench/_results.py, beside this script

SUITE = Path(__file__).resolve().parent.parent / "suites" / "test_head_of_line.py"
TEST = f"{SUITE}::test_one_dead_link_never_stalls_healthy_sites"


def start(mta: str, backend: str, seed: int, report: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            TEST,
            "-q",
            "-p",
            "no:cacheprovider",
            f"--mta={mta}",
            f"--backend={backend}",
            "--harness-profile=ci",
            f"--hypothesis-seed={seed}",
            f"--harness-report={report}",
            "--harness-progress=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def rate(mta: str, backend: str, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        reports = [Path(scratch) / f"w{i}" for i in range(workers)]
        began = time.perf_counter()
        procs = [start(mta, backend, 1000 + i, report) for i, report in enumerate(reports)]
        for proc in procs:
            proc.wait(timeout=1800)
        wall = time.perf_counter() - began
        examples = sum(
            json.loads((report / "results.json").read_text())["examples_run"] for report in reports
        )
    return {"examples": examples, "wall_s": wall, "per_minute": 60 * examples / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mta", action="append", dest="mtas")
    parser.add_argument("--backend", action="append", dest="backends")
    args = parser.parse_args()
    rows = []
    for backend in args.backends or ["local"]:
        for mta in args.mtas or ["seedmta-async", "postfix"]:
            one, two = rate(mta, backend, 1), rate(mta, backend, 2)
            rows.append(
                {
                    "mta": mta,
                    "backend": backend,
                    "one_worker": one,
                    "two_workers": two,
                    "speedup": two["per_minute"] / one["per_minute"],
                }
            )
    print(f"{'backend/MTA':<26}{'1 worker/min':>14}{'2 workers/min':>15}{'speedup':>9}")
    for r in rows:
        print(
            f"{r['backend'] + '/' + r['mta']:<26}{r['one_worker']['per_minute']:>14.0f}"
            f"{r['two_workers']['per_minute']:>15.0f}{r['speedup']:>8.2f}x"
        )
    save("examples_rate", {"results": rows})


if __name__ == "__main__":
    main()
