"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from harness.backends import open_backend
from harness.mta import get_adapter
from harness.world import World

StartWorld = Callable[..., World]


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
