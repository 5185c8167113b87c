"""The run's DNS server, asked by a real resolver library over UDP and TCP: the answers of
its zone, and each per-domain fault, applied and healed while it runs."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from harness.backends.local import LocalBackend
from harness.clock import Deadline
from harness.dns.handle import DnsHandle
from harness.dns.zone import DnsFault
from harness.errors import HarnessError

from ..conftest import StartWorld

pytestmark = pytest.mark.integration

HOSTS = {"site-a.test": "127.0.9.111", "site-b.test": "127.0.9.112"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[DnsHandle, list[dict[str, Any]]]]:
    backend = LocalBackend()
    events: list[dict[str, Any]] = []
    # Port 53 needs root; the server takes any port, so the test does not.
    listen = dataclasses.replace(backend.addresses.dns, port=5353)
    handle = DnsHandle(backend, listen, HOSTS, events.append)
    handle.wait_ready(20)
    yield handle, events
    backend.close()


def ask(handle: DnsHandle, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, handle.listen.host, port=handle.listen.port, timeout=2)


def test_mx_and_a_records_over_udp_and_tcp(server: tuple[DnsHandle, list[Any]]) -> None:
    handle, events = server
    for tcp in (False, True):
        mx = ask(handle, "site-a.test.", "MX", tcp)
        assert [r.to_text() for r in mx.answer[0]] == ["10 mx.site-a.test."]
        a = ask(handle, "mx.site-b.test.", "A", tcp)
        assert [r.to_text() for r in a.answer[0]] == ["127.0.9.112"]
    assert {e["transport"] for e in events if e["event"] == "query"} == {"udp", "tcp"}


def test_each_fault_hits_its_domain_until_healed(server: tuple[DnsHandle, list[Any]]) -> None:
    handle, _events = server
    handle.fault("site-a.test", DnsFault("timeout"))
    with pytest.raises(dns.exception.Timeout):
        ask(handle, "mx.site-a.test.", "A")
    assert ask(handle, "site-b.test.", "MX").answer  # the other domain is answered
    handle.fault("site-a.test", DnsFault("servfail"))
    assert ask(handle, "site-a.test.", "MX").rcode() == dns.rcode.SERVFAIL
    handle.fault("site-a.test", DnsFault("nxdomain"))
    assert ask(handle, "site-a.test.", "MX", tcp=True).rcode() == dns.rcode.NXDOMAIN
    handle.fault("site-a.test", DnsFault("slow", 1.0))
    started = time.monotonic()
    assert ask(handle, "site-a.test.", "MX").answer
    assert time.monotonic() - started >= 0.9  # a lower bound: the reply was held
    handle.heal("site-a.test")
    assert ask(handle, "site-a.test.", "MX").rcode() == dns.rcode.NOERROR


@pytest.mark.skipif(os.geteuid() != 0, reason="an MTA in a root filesystem needs root")
def test_a_rooted_mta_resolves_through_the_runs_server_only(start_world: StartWorld) -> None:
    world = start_world("postfix")
    assert world.dns is not None
    resolv = world.backend.run("mta", ["cat", "/etc/resolv.conf"])
    assert resolv.split() == ["nameserver", world.dns.listen.host]
    link = world.links["site-b"].listen.host
    assert world.backend.run("mta", ["getent", "hosts", "mx.site-b.test"]).split()[0] == link
    with pytest.raises(HarnessError, match="status 2"):  # no such name, and asked nowhere else
        world.backend.run("mta", ["getent", "hosts", "example.com"])
    asked = world.dns_queries_for("example.com.", Deadline.after(10))
    assert {e["outcome"] for e in asked} == {"NXDOMAIN"}
