"""Benchmark: how long a local world takes to start and stop, and time to a FAIL verdict.

Run: ``.venv/bin/python bench/world_start.py [--runs N]``. Prints a table and writes
``bench/results/world_start.json``. Figures, not verdicts: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from harness.backends import open_backend
from harness.mta import get_adapter
from harness.properties import Bounds
from harness.scenario import Scenario, play
from harness.world import World

SEED_OUTAGE = Scenario(2, ((0, "blackhole"),), (0, 1), 0)


def measure(mta: str, runs: int) -> dict[str, float]:
    starts, stops, verdicts = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        world = World(open_backend("local"), get_adapter(mta)).start()
        t1 = time.perf_counter()
        try:
            result = play(world, SEED_OUTAGE, Bounds())
            # Time from the example's start to its first verdict on property (a).
            verdicts.append(time.perf_counter() - t1)
            assert result.properties[0].name == "healthy_sites_keep_flowing"
        finally:
            t2 = time.perf_counter()
            world.close()
            stops.append(time.perf_counter() - t2)
        starts.append(t1 - t0)
    return {
        "start_median_s": statistics.median(starts),
        "stop_median_s": statistics.median(stops),
        "seed_outage_example_median_s": statistics.median(verdicts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    table = {mta: measure(mta, args.runs) for mta in ("seedmta-async", "seedmta-sync")}
    header = f"{'MTA':<16}{'start':>10}{'stop':>10}{'seed outage example':>22}"
    print(f"{header}   ({args.runs} runs, medians)")
    for mta, row in table.items():
        print(
            f"{mta:<16}{row['start_median_s']:>9.2f}s{row['stop_median_s']:>9.2f}s"
            f"{row['seed_outage_example_median_s']:>21.2f}s"
        )
    out = Path(__file__).parent / "results" / "world_start.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": args.runs, "results": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
