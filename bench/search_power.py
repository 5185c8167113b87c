"""Benchmark: how well the drawn search finds what known-bad builds hide, and how often it
calls a known-good build bad.

For every build, N certifications (default 10) with seeds 1..N, the drawn property alone
(``suites/test_head_of_line.py::test_one_dead_link_never_stalls_healthy_sites``: no fixed
example, no scenario file), profile ci. Known-bad builds: detection rate, median examples
and seconds to the first failing example, seconds to the final verdict (shrinking included,
within the shrink budget), and the shrunk counterexample's size (sites, steps, messages).
Known-good builds: the false-FAIL rate.

Run: ``.venv/bin/python bench/search_power.py [--runs 10] [--first-seed 1] [--bad NAME ...]
[--good NAME ...] [--backend local]``. Prints a table and writes
``bench/results/search_power.json``.
Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import save  # bench/_results.py, beside this script

DRAWN = "suites/test_head_of_line.py::test_one_dead_link_never_stalls_healthy_sites"
KNOWN_BAD = ("seedmta-sync", "seedmta-pool", "postfix-hol", "postfix-pool", "exim-hol")
KNOWN_GOOD = ("seedmta-async", "postfix")


def certify(mta: str, seed: int, backend: str, reports: Path) -> dict[str, Any]:
    """One certification of the drawn property; what it found and how fast."""
    before = set(reports.iterdir())
    started = time.monotonic()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "harness", "certify", "--mta", mta, "--backend", backend),
            *("--suites", DRAWN, "--seed", str(seed), "--reports", str(reports)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    (run_dir,) = set(reports.iterdir()) - before
    results = json.loads((run_dir / "results.json").read_text())
    examples = results["examples"]
    first = next((i for i, e in enumerate(examples) if not e["holds"]), None)
    row: dict[str, Any] = {
        "mta": mta,
        "seed": seed,
        "verdict": results["verdict"],
        "exit": done.returncode,
        "examples": len(examples),
        "seconds_to_verdict": round(seconds, 1),
        "first_failure_example": None if first is None else first + 1,
        "seconds_to_first_failure": None
        if first is None
        else round(examples[first]["logged_at"] - results["started"], 1),
    }
    shrunk = [c for c in results["counterexamples"].values() if c.get("shrunk")]
    if shrunk:
        best = shrunk[0]
        steps = best["scenario"]["steps"]
        row |= {
            "broken_claim": best.get("broken_claim"),
            "shrunk_sites": best["scenario"]["sites"],
            "shrunk_steps": len(steps),
            "shrunk_messages": sum(len(s.get("to", [])) for s in steps),
            "shrink_budget_ran_out": bool(best.get("shrink_budget_ran_out")),
            "counterexample": best["description"],
        }
    return row


def summarise(mta: str, rows: list[dict[str, Any]], bad: bool) -> dict[str, Any]:
    failed = [r for r in rows if r["verdict"] == "FAIL"]
    out: dict[str, Any] = {
        "mta": mta,
        "known": "bad" if bad else "good",
        "runs": len(rows),
        "fail": len(failed),
        "error": sum(1 for r in rows if r["verdict"] == "ERROR"),
    }
    if bad:
        out["detection_rate"] = len(failed) / len(rows)
        if failed:
            out |= {
                "median_examples_to_first_failure": statistics.median(
                    r["first_failure_example"] for r in failed
                ),
                "median_seconds_to_first_failure": statistics.median(
                    r["seconds_to_first_failure"] for r in failed
                ),
                "median_seconds_to_verdict": statistics.median(
                    r["seconds_to_verdict"] for r in failed
                ),
                "median_shrunk_messages": statistics.median(
                    r.get("shrunk_messages", 0) for r in failed
                ),
                "shrink_budget_ran_out": sum(1 for r in failed if r.get("shrink_budget_ran_out")),
            }
    else:
        out["false_fail_rate"] = len(failed) / len(rows)
        out["median_seconds_to_verdict"] = statistics.median(r["seconds_to_verdict"] for r in rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--first-seed", type=int, default=1, help="seeds first..first+runs-1 (to extend a run)"
    )
    parser.add_argument("--bad", action="append", help="known-bad builds (default: all)")
    parser.add_argument("--good", action="append", help="known-good builds (default: all)")
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    builds = [(m, True) for m in args.bad or KNOWN_BAD]
    builds += [(m, False) for m in args.good or KNOWN_GOOD]
    summaries, runs = [], []
    with tempfile.TemporaryDirectory(prefix="search-power-") as folder:
        reports = Path(folder)
        for mta, bad in builds:
            seeds = range(args.first_seed, args.first_seed + args.runs)
            rows = [certify(mta, seed, args.backend, reports) for seed in seeds]
            runs += rows
            summaries.append(summarise(mta, rows, bad))
            print(json.dumps(summaries[-1]), flush=True)
    print(
        f"\n{'build':<15}{'known':>6}{'runs':>5}{'FAIL':>5}{'rate':>7}{'ex→1st':>8}"
        f"{'s→1st':>7}{'s→verdict':>10}{'msgs':>6}"
    )
    for s in summaries:
        rate = s.get("detection_rate", s.get("false_fail_rate", 0.0))
        print(
            f"{s['mta']:<15}{s['known']:>6}{s['runs']:>5}{s['fail']:>5}{rate:>7.0%}"
            f"{s.get('median_examples_to_first_failure', '-')!s:>8}"
            f"{s.get('median_seconds_to_first_failure', '-')!s:>7}"
            f"{s.get('median_seconds_to_verdict', '-')!s:>10}"
            f"{s.get('median_shrunk_messages', '-')!s:>6}"
        )
    save("search_power", {"backend": args.backend, "summaries": summaries, "runs": runs})


if __name__ == "__main__":
    main()
