"""Benchmark: the mock site's throughput against Postfix's own ``smtp-sink``.

The compiled site (``harness/sites/fastsite``, what runs wherever it is built), the aiosmtpd
site with 1 and 2 acceptors, and ``smtp-sink``, all driven by Postfix's ``smtp-source -s 10
-m 5000`` (10 sessions in parallel, 5000 messages) in the same run, on the run's own loopback
addresses. A mock site records every
message (one JSON event each, read by the harness); the run counts them, so a figure for a
site that dropped records would not be a throughput. ``smtp-sink`` and ``smtp-source`` come
from the Postfix root filesystem and run chrooted into it (needs root, as real MTAs do).

Run: ``.venv/bin/python bench/site_throughput.py [--messages 5000] [--sessions 10]``. Prints
a table and writes ``bench/results/site_throughput.json``. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from _results import save  # bench/_results.py, beside this script

from harness.backends.local import LocalBackend
from harness.clock import Deadline
from harness.net import wait_for_port
from harness.rootfs import ensure_rootfs
from harness.sites.handle import SiteHandle
from harness.sites.program import CHOICE
from harness.topology import Site


def source(root: Path, target: str, sessions: int, messages: int) -> float:
    """Seconds ``smtp-source`` takes to send ``messages`` over ``sessions`` sessions."""
    started = time.perf_counter()
    subprocess.run(
        [
            "chroot",
            str(root),
            "/usr/sbin/smtp-source",
            "-s",
            str(sessions),
            "-m",
            str(messages),
            "-f",
            "bench@sender.test",
            "-t",
            "sink@site-a.test",
            target,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument(
        "--acceptors", type=int, action="append", help="acceptors per site (default 1 and 2)"
    )
    args = parser.parse_args()
    args.acceptors = args.acceptors or [1, 2]
    root = ensure_rootfs("postfix")
    backend = LocalBackend()
    results: dict[str, Any] = {}
    try:
        addresses = backend.addresses
        recorded = 0
        all_recorded = threading.Event()

        def count(event: dict[str, Any]) -> None:
            nonlocal recorded
            if event.get("event") == "message":
                recorded += 1
                if recorded >= args.messages:
                    all_recorded.set()

        # The compiled site (what runs wherever it is built), then the aiosmtpd site.
        receivers = [("compiled", 1)] + [("python", n) for n in args.acceptors]
        for number, (program, acceptors) in enumerate(receivers):
            recorded = 0
            all_recorded.clear()
            at = addresses.site(2 + number)
            os.environ[CHOICE] = program
            site = SiteHandle(backend, Site("site-a", "site-a.test"), at, count, acceptors)
            site.wait_ready(20)
            took = source(root, str(at), args.sessions, args.messages)
            all_recorded.wait(60)  # the last events are still being read after the last QUIT
            name = (
                "compiled site"
                if program == "compiled"
                else f"aiosmtpd site, {acceptors} acceptor(s)"
            )
            results[f"{name} (records every message)"] = {
                "seconds": took,
                "per_second": args.messages / took,
                "recorded": recorded,
            }

        sink_at = addresses.site(1)
        sink = subprocess.Popen(
            ["chroot", str(root), "/usr/sbin/smtp-sink", "-u", "nobody", f"{sink_at}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(sink_at, Deadline.after(10), "smtp-sink")
            took = source(root, str(sink_at), args.sessions, args.messages)
        finally:
            sink.terminate()
            sink.wait(10)
        results["smtp-sink (Postfix, records nothing)"] = {
            "seconds": took,
            "per_second": args.messages / took,
            "recorded": None,
        }
    finally:
        backend.close()
    site_rate = max(r["per_second"] for n, r in results.items() if r["recorded"] is not None)
    sink_rate = results["smtp-sink (Postfix, records nothing)"]["per_second"]
    print(f"smtp-source -s {args.sessions} -m {args.messages}")
    print(f"{'receiver':<54}{'seconds':>9}{'msg/s':>9}{'recorded':>10}")
    for name, row in results.items():
        print(
            f"{name:<54}{row['seconds']:>9.2f}{row['per_second']:>9.0f}"
            f"{row['recorded'] if row['recorded'] is not None else '-':>10}"
        )
    print(f"best site / smtp-sink: {site_rate / sink_rate:.2f}x (target at least 0.5x)")
    save(
        "site_throughput",
        {
            "messages": args.messages,
            "sessions": args.sessions,
            "results": results,
            "ratio": site_rate / sink_rate,
        },
    )


if __name__ == "__main__":
    main()
