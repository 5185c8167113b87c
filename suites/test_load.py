"""Load suite: the outages of ``fixtures/scenarios/load/``, each a dead link under sustained
mail, played once and judged by every property, ``healthy_throughput`` among them.

``--load RATE`` plays every load at RATE messages a second instead of the file's own (what
``certify --load RATE`` runs); the files' timelines (when links die and heal) stay as written.
"""

from dataclasses import replace

import pytest

from harness import Judge, Outage, load_outage
from harness.scenario_file import SCENARIOS
from harness.steps.load import at_rate


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "loaded" in metafunc.fixturenames:
        rate = metafunc.config.getoption("--load")
        outages = [load_outage(path) for path in sorted((SCENARIOS / "load").glob("*.toml"))]
        if rate is not None:
            outages = [
                replace(
                    o,
                    steps=at_rate(o.steps, rate),
                    description=f"{o.description} (played at {rate:g} messages/s)",
                )
                for o in outages
            ]
        loaded = outages
        metafunc.parametrize("loaded", loaded, ids=[o.name for o in loaded])


def test_outage_under_load(judge: Judge, loaded: Outage) -> None:
    judge(loaded)
