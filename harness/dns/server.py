"""The run's DNS server process: ``python -m harness.dns.server --listen HOST:PORT
--zone site-a.test=127.0.5.111 ...``. UDP and TCP on one loopback (or private network)
address, answering from :class:`~harness.dns.zone.Zone`; per-domain faults arrive on standard
input as JSON lines (``fault``, ``heal``) and are acknowledged on standard output, where every
query is also logged as an event (the evidence of what the MTA asked, and what it got).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import struct
import sys
import threading
import time
from typing import Any, cast

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from harness.dns.zone import DnsFault, Zone
from harness.sites.protocol import encode


class Resolver:
    """Answers queries, holding or dropping them as the domain's fault says."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.faults: dict[str, DnsFault] = {}
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        fields.update(event=event, site="dns", t=time.monotonic(), wall=time.time())
        with self._lock:
            sys.stdout.write(encode(fields) + "\n")
            sys.stdout.flush()

    async def respond(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException as exc:
            self.emit("query", outcome=f"malformed: {exc}", transport=transport)
            return None
        response = self.zone.answer(query, self.faults)
        question = query.question[0] if query.question else None
        name = str(question.name) if question is not None else "?"
        domain = self.zone.domain_of(question.name) if question is not None else None
        fault = self.faults.get(domain) if domain is not None else None
        self.emit(
            "query",
            name=name,
            type=dns.rdatatype.to_text(question.rdtype) if question is not None else "?",
            outcome="no answer" if response is None else dns.rcode.to_text(response.rcode()),
            fault=fault.kind if fault is not None else None,
            domain=domain,
            transport=transport,
        )
        if response is None:
            return None
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        return response.to_wire()


class UdpServer(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None
        #: Replies being made (a slow domain's are held): referenced until done.
        self._pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        wire = await self.resolver.respond(data, "udp")
        if wire is not None and self.transport is not None:
            self.transport.sendto(wire, addr)


async def serve_tcp(
    resolver: Resolver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Length-prefixed queries on one connection, until the client closes it."""
    try:
        while True:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            wire = await resolver.respond(await reader.readexactly(length), "tcp")
            if wire is not None:
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_commands(resolver: Resolver, loop: asyncio.AbstractEventLoop) -> None:
    """Apply faults from standard input until it closes (the harness went away)."""
    for line in sys.stdin:
        try:
            command = json.loads(line)
            if command["cmd"] == "fault":
                fault = DnsFault(str(command["kind"]), float(command.get("delay", 0.0)))
                loop.call_soon_threadsafe(resolver.faults.__setitem__, command["domain"], fault)
            elif command["cmd"] == "heal":
                loop.call_soon_threadsafe(resolver.faults.pop, command["domain"], None)
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except (ValueError, KeyError, TypeError) as exc:
            resolver.emit("error", message=f"bad command {line.strip()!r}: {exc}")
            continue
        # Queued behind the change: once the harness reads the ack, later queries see it.
        loop.call_soon_threadsafe(functools.partial(resolver.emit, "ack", seq=command.get("seq")))
    loop.call_soon_threadsafe(loop.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.dns.server", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT (loopback or private)")
    parser.add_argument("--zone", action="append", default=[], help="DOMAIN=ADDRESS of its MX")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    zone = Zone(dict(entry.split("=", 1) for entry in args.zone))
    resolver = Resolver(zone)
    loop = asyncio.new_event_loop()
    udp, _ = loop.run_until_complete(
        loop.create_datagram_endpoint(lambda: UdpServer(resolver), local_addr=(host, int(port)))
    )
    tcp = loop.run_until_complete(
        asyncio.start_server(
            lambda r, w: serve_tcp(resolver, r, w), host=host, port=int(port), reuse_address=True
        )
    )
    resolver.emit("ready", listen=args.listen, domains=sorted(zone.hosts))
    threading.Thread(target=serve_commands, args=(resolver, loop), daemon=True).start()
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        udp.close()
        tcp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
