"""Benchmark: how long a world takes to start and stop, per backend and MTA, and the time to
a verdict on the seed's outage (2 sites, site-a blackholed, its mail first).

Run: ``.venv/bin/python bench/world_start.py [--runs N] [--backend local --backend docker]
[--mta NAME ...]``. Prints a table and writes ``bench/results/world_start.json``. Figures, not
verdicts: nothing here passes or fails. Images and root filesystems are built before the
first timed run, so the figures are for a run that finds them ready.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _results import save  # bench/_results.py, beside this script

from harness.backends import open_backend
from harness.claims import Bounds
from harness.mta import get_adapter
from harness.scenario import Scenario, play
from harness.world import World

SEED_OUTAGE = Scenario(2, ((0, "blackhole"),), (0, 1), 0)


def measure(backend: str, mta: str, runs: int) -> dict[str, float]:
    World(open_backend(backend), get_adapter(mta)).start().close()  # warm: images, rootfs
    starts, stops, verdicts = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        world = World(open_backend(backend), get_adapter(mta)).start()
        t1 = time.perf_counter()
        try:
            play(world, SEED_OUTAGE, Bounds())
            verdicts.append(time.perf_counter() - t1)
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
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", action="append", dest="backends")
    parser.add_argument("--mta", action="append", dest="mtas")
    args = parser.parse_args()
    backends = args.backends or ["local"]
    mtas = args.mtas or ["seedmta-async", "seedmta-sync"]
    table = {f"{b}/{m}": measure(b, m, args.runs) for b in backends for m in mtas}
    header = f"{'backend/MTA':<26}{'start':>9}{'stop':>9}{'seed outage example':>22}"
    print(f"{header}   ({args.runs} runs, medians)")
    for key, row in table.items():
        print(
            f"{key:<26}{row['start_median_s']:>8.2f}s{row['stop_median_s']:>8.2f}s"
            f"{row['seed_outage_example_median_s']:>21.2f}s"
        )
    save("world_start", {"runs": args.runs, "results": table})


if __name__ == "__main__":
    main()
