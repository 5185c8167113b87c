"""Every socket a local run listens on is on loopback: never 0.0.0.0, ::, or a real
interface (the MTAs, Toxiproxy's API and links, the sites)."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from harness.clock import Deadline
from harness.errors import HarnessError

from ..conftest import StartWorld

pytestmark = pytest.mark.integration


def listening() -> set[str]:
    out = subprocess.run(
        ["ss", "-ltnH"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    return {line.split()[3] for line in out.splitlines() if line.strip()}


def host_of(address: str) -> str:
    return address.rpartition(":")[0].strip("[]").split("%")[0]


@pytest.mark.parametrize("mta", ["seedmta-async", "postfix", "exim", "opensmtpd"])
def test_a_local_run_listens_on_loopback_only(start_world: StartWorld, mta: str) -> None:
    before = listening()
    world = start_world(mta, sites=3)
    opened = listening() - before
    ours = {str(world.plan.listen), str(world.toxiproxy.base).removeprefix("http://")}
    assert ours <= opened, f"expected the run's own sockets among {sorted(opened)}"
    for address in opened:
        assert ipaddress.ip_address(host_of(address)).is_loopback, (
            f"{address} is not on loopback (opened while {mta}'s world started)"
        )


def nameservers(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("nameserver")]


@pytest.mark.parametrize("mta", ["postfix", "exim", "opensmtpd"])
def test_a_rooted_mtas_name_lookups_stay_on_this_machine(start_world: StartWorld, mta: str) -> None:
    """The root filesystems keep the build machine's resolv.conf (seen: OpenSMTPD querying
    it, off this machine). Inside a run the MTA is told of the run's own DNS server alone, on
    a loopback address of the run's block, which answers every lookup itself."""
    world = start_world(mta, sites=2)
    assert world.dns is not None
    servers = nameservers(world.backend.run("mta", ["cat", "/etc/resolv.conf"]))
    assert servers == [world.dns.listen.host], servers
    assert ipaddress.ip_address(servers[0]).is_loopback
    with pytest.raises(HarnessError):  # no such name: answered here, not asked elsewhere
        world.backend.run("mta", ["getent", "hosts", "example.com"])
    # Read from the server's log by a thread of its own (a fresh clone's run once read it
    # before the entry was there): waited for, with a deadline.
    asked = {e["outcome"] for e in world.dns_queries_for("example.com.", Deadline.after(10))}
    assert asked == {"NXDOMAIN"}
