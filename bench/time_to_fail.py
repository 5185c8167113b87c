"""Benchmark: how soon a FAIL verdict comes, as a ratio to the configured bound.

The seed's outage (two sites, site-a blackholed, one message each, site-a's first) is played
against MTAs with head-of-line blocking. The clock starts when the healthy message is accepted
(the first blocked message) and stops when ``healthy_sites_keep_flowing`` returns its verdict.
The bound is the floor: no harness can call a message late sooner. Target: at most the bound
plus 2 s.

Run: ``.venv/bin/python bench/time_to_fail.py [--runs 3] [--bound 1 --bound 3] [--mta NAME]``.
Prints a table and writes ``bench/results/time_to_fail.json``. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import statistics

from _results import save  # bench/_results.py, beside this script

from harness.backends import open_backend
from harness.claims import Bounds, ExampleFacts
from harness.claims.healthy import HealthySitesKeepFlowing
from harness.clock import now
from harness.faults import make_fault
from harness.mta import get_adapter
from harness.world import World


def time_to_fail(world: World, bound: float) -> float:
    """Seconds from the blocked healthy message's acceptance to the FAIL verdict."""
    with world.example() as example:
        dead, healthy = example.site(0), example.site(1)
        example.apply(dead, make_fault("blackhole", bound))
        example.submit(dead)
        blocked = example.submit(healthy)
        facts = ExampleFacts(example.ledger, Bounds(delivery=bound), example.fault_windows)
        verdict = HealthySitesKeepFlowing().judge(facts)
        decided = now()
        example.heal_all()
    if verdict.holds or blocked.accepted_at is None:
        raise SystemExit(f"{world.adapter.name} did not fail the seed's outage: not a HOL MTA")
    return decided - blocked.accepted_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bound", type=float, action="append", dest="bounds")
    parser.add_argument("--mta", action="append", dest="mtas")
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    rows = []
    for mta in args.mtas or ["seedmta-sync", "postfix-hol"]:
        with World(open_backend(args.backend), get_adapter(mta), sites=2) as world:
            for bound in args.bounds or [1.0, 3.0]:
                times = [time_to_fail(world, bound) for _ in range(args.runs)]
                worst = max(times)
                rows.append(
                    {
                        "mta": mta,
                        "backend": args.backend,
                        "bound_s": bound,
                        "median_s": statistics.median(times),
                        "worst_s": worst,
                        "worst_over_bound": worst / bound,
                        "target_met": worst <= bound + 2.0,
                    }
                )
    print(f"{'MTA':<14}{'bound':>7}{'median':>9}{'worst':>8}{'worst/bound':>13}  bound+2 s")
    for r in rows:
        print(
            f"{r['mta']:<14}{r['bound_s']:>6.1f}s{r['median_s']:>8.2f}s{r['worst_s']:>7.2f}s"
            f"{r['worst_over_bound']:>12.3f}x  {'met' if r['target_met'] else 'MISSED'}"
        )
    save("time_to_fail", {"runs": args.runs, "results": rows})


if __name__ == "__main__":
    main()
