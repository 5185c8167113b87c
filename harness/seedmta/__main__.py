"""Command line of the seed model: ``serve`` runs it, ``queue`` lists its queue as JSON."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from harness.seedmta.queue import DiskQueue, read_queue

if TYPE_CHECKING:
    from harness.seedmta.relay import Route, Scheduler

#: The model's modes: ``sync`` has the seed's bug, ``async`` the fix, ``pool`` a delivery
#: pool that mail for dead hops can exhaust (found only by a search that sends enough).
MODES = ("sync", "async", "pool")
#: Where ``serve`` writes its pid, beside the queue, so ``retry`` can signal it.
PID_FILE = "seedmta.pid"


def parse_route(text: str) -> tuple[str, Route]:
    domain, sep, hostport = text.partition("=")
    host, _, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"route must look like DOMAIN=HOST:PORT, not {text!r}")
    return domain.lower(), (host, int(port))


def parse_pace(text: str) -> tuple[int, float]:
    every, sep, pause = text.partition(":")
    try:
        pace = int(every), float(pause)
    except ValueError:
        pace = (0, 0.0)
    if not sep or pace[0] < 1 or pace[1] <= 0:
        raise argparse.ArgumentTypeError(f"pace must look like N:SECONDS, not {text!r}")
    return pace


def serve(args: argparse.Namespace) -> int:
    # Imported here, not above: ``queue`` and ``retry`` run several times an example (the
    # harness lists the queue as it settles), and these imports (aiosmtpd, dnspython, a TLS
    # context loading the system's certificates) made each of them cost 0.33 s of CPU.
    from aiosmtpd.controller import Controller

    from harness.seedmta.relay import (
        AsyncScheduler,
        IntakeHandler,
        Policy,
        PoolScheduler,
        SyncScheduler,
        log,
    )

    host, _, port = args.listen.rpartition(":")
    routes = dict(args.route)
    queue = DiskQueue(Path(args.queue))
    policy = Policy(
        args.timeout,
        args.min_backoff,
        args.max_backoff,
        drop_deferred=args.drop_deferred,
        resolver=args.resolver[1] if args.resolver else None,
        pace_every=args.pace[0] if args.pace else 0,
        pace_pause=args.pace[1] if args.pace else 0.0,
    )
    scheduler: Scheduler
    if args.mode == "sync":
        scheduler = SyncScheduler(queue, routes, policy)
    elif args.mode == "pool":
        scheduler = PoolScheduler(queue, routes, policy, workers=args.workers)
    else:
        scheduler = AsyncScheduler(queue, routes, policy)
    controller = Controller(
        IntakeHandler(queue, routes, scheduler.wake),
        hostname=host,
        port=int(port),
        server_hostname="seedmta.test",
        ready_timeout=10,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # The harness's retry-now (``seedmta retry``): every queued message due at once.
    signal.signal(signal.SIGUSR2, lambda *_: threading.Thread(target=scheduler.retry_now).start())
    (Path(args.queue) / PID_FILE).write_text(f"{os.getpid()}\n")
    controller.start()
    scheduler.start()
    log(f"ready on {args.listen} mode={args.mode} queued={len(queue.snapshot())}")
    stop.wait()
    scheduler.stop()
    controller.stop()
    log("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seedmta", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="accept mail and relay it")
    run.add_argument("--listen", required=True, help="HOST:PORT for SMTP intake")
    run.add_argument(
        "--route",
        action="append",
        type=parse_route,
        default=[],
        metavar="DOMAIN=HOST:PORT",
        help="next hop for a domain (repeatable)",
    )
    run.add_argument(
        "--resolver",
        type=lambda text: parse_route(f"dns={text}"),
        help="HOST:PORT of a DNS server: deliver by MX lookup (port 25), not by route",
    )
    run.add_argument("--queue", required=True, help="queue folder")
    run.add_argument("--mode", choices=MODES, required=True)
    run.add_argument(
        "--workers", type=int, default=2, help="delivery workers in pool mode (default 2)"
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="connect and reply timeout per attempt, seconds (default 10)",
    )
    run.add_argument(
        "--drop-deferred",
        action="store_true",
        help="a second bug: drop a message whose delivery failed for a transient reason",
    )
    run.add_argument(
        "--pace",
        type=parse_pace,
        metavar="N:SECONDS",
        help="after every N deliveries to a next hop, wait SECONDS before its next one",
    )
    run.add_argument("--min-backoff", type=float, default=0.5)
    run.add_argument("--max-backoff", type=float, default=2.0)
    show = commands.add_parser("queue", help="print the queue as JSON")
    show.add_argument("--queue", required=True)
    retry = commands.add_parser("retry", help="ask the running model to retry everything now")
    retry.add_argument("--queue", required=True)
    args = parser.parse_args(argv)
    if args.command == "retry":
        pid = int((Path(args.queue) / PID_FILE).read_text())
        os.kill(pid, signal.SIGUSR2)
        print(f"seedmta: asked {pid} to retry everything now")
        return 0
    if args.command == "queue":
        json.dump(read_queue(Path(args.queue)), sys.stdout)
        sys.stdout.write("\n")
        return 0
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
