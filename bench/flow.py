"""Benchmark: end-to-end messages per second the harness submits and accounts for through an
MTA, and the latency Toxiproxy adds to one message.

Throughput: N messages to healthy sites, submitted over one SMTP session, the clock stopping
when the ledger has seen every one arrive (so each is accounted for, not just sent).
Toxiproxy's cost: the same SMTP transaction (connect, EHLO, MAIL, RCPT, DATA, QUIT) sent
straight to a mock site and through its link, alternately, many times; the difference of
medians is what the link adds.

Run: ``.venv/bin/python bench/flow.py [--messages 300] [--mta NAME] [--backend local]``.
Prints a table and writes ``bench/results/flow.json``. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import time
from typing import Any

from _results import save  # bench/_results.py, beside this script

from harness.backends import open_backend
from harness.clock import Deadline
from harness.mta import get_adapter
from harness.topology import SENDER, Endpoint
from harness.world import World


def throughput(world: World, messages: int) -> dict[str, float]:
    with world.example() as example:
        sites = world.remote_sites
        started = time.perf_counter()
        for number in range(messages):
            example.submit(sites[number % len(sites)])
        submitted = time.perf_counter()
        done = example.ledger.wait_until(
            lambda records: all(r.arrivals for r in records), Deadline.after(300)
        )
        finished = time.perf_counter()
    if not done:
        raise SystemExit(f"{world.adapter.name}: not every message arrived within 300 s")
    return {
        "messages": messages,
        "submit_per_second": messages / (submitted - started),
        "accounted_per_second": messages / (finished - started),
    }


def transaction(at: Endpoint) -> float:
    started = time.perf_counter()
    with smtplib.SMTP(at.host, at.port, timeout=10, local_hostname="bench.test") as smtp:
        smtp.sendmail(SENDER, ["probe@site-a.test"], "Subject: probe\r\n\r\nprobe\r\n")
    return time.perf_counter() - started


def link_cost(world: World, rounds: int) -> dict[str, float]:
    """Median SMTP transaction time straight to site-a and through its link (local only)."""
    link = world.links["site-a"]
    direct, proxied = [], []
    for _ in range(rounds):
        direct.append(transaction(world.sites["site-a"].listen))
        proxied.append(transaction(link.listen))
    return {
        "direct_median_ms": 1000 * statistics.median(direct),
        "through_toxiproxy_median_ms": 1000 * statistics.median(proxied),
        "added_ms": 1000 * (statistics.median(proxied) - statistics.median(direct)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--mta", action="append", dest="mtas")
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    results: dict[str, Any] = {"throughput": {}, "toxiproxy": None}
    for mta in args.mtas or ["seedmta-async", "postfix"]:
        with World(open_backend(args.backend), get_adapter(mta), sites=3) as world:
            results["throughput"][mta] = throughput(world, args.messages)
            if results["toxiproxy"] is None and args.backend == "local":
                results["toxiproxy"] = link_cost(world, args.rounds)
    print(f"end to end through the MTA ({args.backend}, {args.messages} messages, 3 sites)")
    print(f"{'MTA':<16}{'submitted/s':>13}{'accounted/s':>13}")
    for mta, row in results["throughput"].items():
        print(f"{mta:<16}{row['submit_per_second']:>13.0f}{row['accounted_per_second']:>13.0f}")
    if results["toxiproxy"]:
        t = results["toxiproxy"]
        print(
            f"one SMTP transaction: direct {t['direct_median_ms']:.2f} ms, through Toxiproxy "
            f"{t['through_toxiproxy_median_ms']:.2f} ms: +{t['added_ms']:.2f} ms "
            f"(medians of {args.rounds})"
        )
    save("flow", results)


if __name__ == "__main__":
    main()
