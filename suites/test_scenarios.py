"""Regression suite: every scenario file in ``fixtures/scenarios/`` (or those given with
``--scenario``), each played once and judged by every property.

A counterexample a failing run wrote (``reports/<run>/counterexample-*.toml``) joins this
suite when it is copied into ``fixtures/scenarios/``.
"""

import pytest

from harness import Judge, Outage, load_outage, scenario_files


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "outage" in metafunc.fixturenames:
        outages = [load_outage(path) for path in scenario_files(metafunc.config)]
        metafunc.parametrize("outage", outages, ids=[o.name for o in outages])


def test_scenario(judge: Judge, outage: Outage) -> None:
    judge(outage)  # with the file's own [expect] bounds, unless the command line says else
