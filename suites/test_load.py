"""Load suite: the outages of ``fixtures/scenarios/load/``, each a dead link under sustained
mail, played once and judged by every property, ``healthy_throughput`` among them.

``--load RATE`` plays every load at RATE messages a second instead of the file's own (what
``certify --load RATE`` runs); the files' timelines (when links die and heal) stay as written.
"""

import pytest

from harness import Judge, Outage, load_outages


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "loaded" in metafunc.fixturenames:
        outages = load_outages(metafunc.config)
        metafunc.parametrize("loaded", outages, ids=[o.name for o in outages])


def test_outage_under_load(judge: Judge, loaded: Outage) -> None:
    judge(loaded)
