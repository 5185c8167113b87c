"""Every socket a local run listens on is on loopback: never 0.0.0.0, ::, or a real
interface (the MTAs, Toxiproxy's API and links, the sites)."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from .conftest import StartWorld

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
