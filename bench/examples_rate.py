"""Benchmark: property examples per minute, per MTA and backend, with one and two workers.

Two workers: the property test (``suites/test_head_of_line.py``, profile ci, a fixed seed)
divided between two pytest-xdist workers as ``certify -n 2`` divides it (``-n 2 --dist
each``: each worker a world of its own and a share of the search with its own seed; a worker
done with its share draws on while the other still plays its own, never past the whole
search), counted from the ONE run record the controller merged. One worker: the same two
shares (``--shard 1/2``, then ``--shard 2/2``) played one after the other by one process
each. So the two-worker run plays every example the one-worker run plays, plus what the
faster worker drew on meanwhile (an example's cost depends on the outage drawn: one seed's
20 examples took 37 s, another's 63 s). The rate counts every example judged (shrinking
included) over the wall time, world start and teardown included. Targets: at least 60
examples per minute against seedmta-async on local with one worker, and two workers at least
1.7x one (issue 18).

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
#: The search is divided in two both ways: two workers at once, or two shards in turn.
PARTS = 2


def start(mta: str, backend: str, division: list[str], report: Path) -> subprocess.Popen[bytes]:
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
            "--hypothesis-seed=1000",
            f"--harness-report={report}",
            "--harness-progress=off",
            *division,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def rate(mta: str, backend: str, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        if workers > 1:
            runs = [["-n", str(workers), "--dist", "each"]]
        else:
            runs = [["--shard", f"{k}/{PARTS}"] for k in range(1, PARTS + 1)]
        records = []
        began = time.perf_counter()
        for i, division in enumerate(runs):
            # The folder's name is the run's id: unique on the machine.
            report = Path(scratch) / f"{Path(scratch).name}-run{i}"
            start(mta, backend, division, report).wait(timeout=1800)
            records.append(json.loads((report / "results.json").read_text()))
        wall = time.perf_counter() - began
    examples = sum(r["examples_run"] for r in records)
    return {
        "examples": examples,
        "verdicts": [r["verdict"] for r in records],
        "seeds": [p["seed"] for r in records for p in (r["parts"] or [r])],
        "wall_s": wall,
        "per_minute": 60 * examples / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mta", action="append", dest="mtas")
    parser.add_argument("--backend", action="append", dest="backends")
    args = parser.parse_args()
    rows = []
    for backend in args.backends or ["local"]:
        for mta in args.mtas or ["seedmta-async", "postfix"]:
            one, two = rate(mta, backend, 1), rate(mta, backend, PARTS)
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
