"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness.backends import open_backend
from harness.claims import Bounds
from harness.mta import get_adapter
from harness.record import Example
from harness.sites.program import CHOICE, CHOICES
from harness.world import World

StartWorld = Callable[..., World]

#: The mock site's two programs (harness.sites.program): tests of the site run on each.
SITE_PROGRAMS = list(CHOICES)


@contextmanager
def site_program(choice: str) -> Iterator[None]:
    """Sites started inside run ``choice``; the compiled one must be built."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CHOICE, choice)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first. xdist workers take tests in collection order (groups before them),
    and a long one taken last ends the run alone: a 3-worker run had a worker idle for
    160 s while another played the last drawn search. A stable sort keeps every worker's
    collection the same, as xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture
def start_world() -> Iterator[StartWorld]:
    """Start a small world for one test; every world started is closed at the end."""
    worlds: list[World] = []

    def start(mta: str = "seedmta-async", sites: int = 2, **timers: float) -> World:
        world = World(open_backend("local"), get_adapter(mta), sites=sites, timers=timers)
        world.start()
        worlds.append(world)
        return world

    yield start
    for world in worlds:
        world.close()


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``mta-harness ARGS`` in a process of its own, as a user would; any exit status."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


WORLD_UP = re.compile(r"mta-harness: world (\S+) up")
#: A shipped MTA description: routed by the templates it was given, so statically only.
STATIC_ONLY_MTA = str(
    Path(__file__).resolve().parents[1] / "fixtures" / "mta" / "postfix-from-template.toml"
)


def spawn_cli(*args: str) -> subprocess.Popen[str]:
    """Start ``mta-harness ARGS`` in a session of its own (signals sent to it reach it
    alone), its output and errors merged into one text pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_run(*args: str) -> tuple[subprocess.Popen[str], str]:
    """:func:`spawn_cli`, returning once its world is up, with the world's run id."""
    proc = spawn_cli(*args)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # ends at EOF if the run dies: then the error below says why
        seen.append(line)
        match = WORLD_UP.search(line)
        if match:
            return proc, match.group(1)
    proc.wait()
    raise AssertionError("the run never brought its world up:\n" + "".join(seen))


def example_record(
    test: str = "t",
    healthy: str = "holds",
    bounds: dict[str, Any] | None = None,
    name: str = "drawn",
    description: str | None = None,
    summary: str | None = None,
    evidence: list[dict[str, Any]] | None = None,
) -> Example:
    """A whole example as the plugin records it, with the seed's claim judged ``healthy``
    (``evidence`` in its stored form, read back by kind): for tests of the record's readers."""
    return Example.model_validate(
        {
            "scenario": {"name": name, "sites": 2, "healthy": ["site-b"], "steps": []},
            "description": name if description is None else description,
            "holds": healthy != "broken",
            "mta_died": None,
            "bounds": bounds or asdict(Bounds()),
            "claims": [
                {
                    "name": "healthy_sites_keep_flowing",
                    "verdict": healthy,
                    "holds": healthy != "broken",
                    "summary": healthy if summary is None else summary,
                    "evidence": evidence or [],
                    "figures": {},
                }
            ],
            "broken_claim": "healthy_sites_keep_flowing" if healthy == "broken" else None,
            "figures": {},
            "settlement": None,
            "messages": [],
            "timeline": [],
            "queue_snapshots": [],
            "history": [],
            "test": test,
        }
    )


def default_interface() -> str | None:
    """The interface of this machine's default route (the way off it), if it has one."""
    with open("/proc/net/route") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000":
                return fields[0]
    return None


#: The xdist group of every test that counts DNS packets leaving the machine, and of every
#: test that fetches packages (a Debian mirror, the Python package index): the counter is
#: host-wide, so the two must never run at once (seen with three workers: 4 packets, from a
#: root filesystem build beside an MX-routing test).
HOST_DNS = "host-dns"


class PacketCounter:
    """Counts DNS packets (UDP and TCP port 53) sent off this machine, from the host or from
    any container, by iptables rules without a target (they count, and change nothing). Its
    rules are removed on exit; their comment names this test, not the harness (the kill-point
    tests look for any rule of the harness's own)."""

    def __init__(self, interface: str) -> None:
        self.tag = f"test-dns-count-{uuid.uuid4().hex[:8]}"
        self._label = ["-m", "comment", "--comment", self.tag]
        self.rules = [
            [chain, "-o", interface, "-p", proto, "--dport", "53", *self._label]
            for chain in ("OUTPUT", "FORWARD")
            for proto in ("udp", "tcp")
        ]

    def __enter__(self) -> PacketCounter:
        for rule in self.rules:
            subprocess.run(["iptables", "-w", "-I", *rule], check=True, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        for rule in self.rules:
            subprocess.run(["iptables", "-w", "-D", *rule], check=False, timeout=30)

    def packets(self) -> int:
        total = 0
        for chain in ("OUTPUT", "FORWARD"):
            listing = subprocess.run(
                ["iptables", "-w", "-L", chain, "-v", "-n", "-x"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout
            total += sum(int(line.split()[0]) for line in listing.splitlines() if self.tag in line)
        return total


@pytest.fixture
def dns_packets_leaving() -> Iterator[PacketCounter]:
    """Counts DNS packets that leave this machine while the test runs (needs root)."""
    interface = default_interface()
    if interface is None:
        pytest.skip("this machine has no default route: no packet can leave it")
    with PacketCounter(interface) as counter:
        yield counter
