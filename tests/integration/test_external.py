"""An MTA the harness cannot start: its owner runs it and names its routes; the harness puts
its links there, cuts them, and judges it like any other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.backends import open_backend
from harness.claims import Bounds
from harness.errors import UsageError
from harness.mta import get_adapter
from harness.scenario import Scenario, play
from harness.world import World

# Outside every run's slot (slots are 127.0.0-63.x), so parallel runs cannot collide with it;
# but the two MTAs below listen on the same fixed address: one worker plays them in turn (a
# 3-worker run had both at once: "address already in use").
BLOCK = "127.0.201"

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("external-block")]


def description(tmp_path: Path) -> Path:
    path = tmp_path / "external.toml"
    path.write_text(
        f'name = "their-mta"\nexternal = true\nsmtp = "{BLOCK}.2:2525"\n'
        f'[links]\n"site-a.test" = "{BLOCK}.111:2525"\n"site-b.test" = "{BLOCK}.112:2525"\n'
        f'"bounces.test" = "{BLOCK}.110:2525"\n'
    )
    return path


@pytest.fixture(params=["async", "sync"])
def their_mta(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A seedmta the harness does not start: configured by 'its owner' with fixed routes."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.seedmta",
            "serve",
            "--mode",
            request.param,
            "--listen",
            f"{BLOCK}.2:2525",
            "--queue",
            str(tmp_path / "queue"),
            "--route",
            f"site-a.test={BLOCK}.111:2525",
            "--route",
            f"site-b.test={BLOCK}.112:2525",
            "--route",
            f"bounces.test={BLOCK}.110:2525",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert "ready" in proc.stdout.readline()
    yield request.param
    proc.terminate()
    proc.wait(timeout=10)


def test_an_external_mta_is_certified_through_links_at_its_routes(
    their_mta: str, tmp_path: Path
) -> None:
    adapter = get_adapter(str(description(tmp_path)))
    with World(open_backend("local"), adapter, sites=2) as world:
        assert world.plan.routes["site-a.test"].host == f"{BLOCK}.111"
        result = play(world, Scenario(2, ((0, "blackhole"),), (0, 1), 0), Bounds())
    assert result.holds is (their_mta == "async"), result.explain()


def test_missing_routes_are_named_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "partial.toml"
    path.write_text(
        'external = true\nsmtp = "127.0.0.1:25"\n[links]\n"site-a.test" = "127.0.0.111:2525"\n'
    )
    with pytest.raises(UsageError, match=r"lacks site-b\.test, bounces\.test"):
        World(open_backend("local"), get_adapter(str(path)), sites=2)


def test_an_external_mta_must_be_on_loopback(tmp_path: Path) -> None:
    path = tmp_path / "far.toml"
    path.write_text('external = true\nsmtp = "192.0.2.1:25"\n[links]\n"a.test" = "x"\n')
    with pytest.raises(UsageError, match="loopback HOST:PORT"):
        get_adapter(str(path))
