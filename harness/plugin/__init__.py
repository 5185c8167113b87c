"""The pytest plugin: how suites (shipped or the user's own) reach the harness.

Registered through the ``pytest11`` entry point, so installing mta-harness is enough. It adds
the run options (``harness/options.py``) and fixtures:

``world``       the running test world for the session (Toxiproxy, sites, links, the MTA)
``example``     a clean slate in that world for one test: submit, fault, read the ledger
``ledger``      the example's ledger
``links``/``sites``/``mta``  parts of the world
``bounds``      the claims' bounds in force
``judge``       play an outage, record it, raise its first broken claim (``judge(outage)``)
``example_log`` where a suite reports each example (``example_log.add(result)``)
``harness_record``  the run record

The run itself (its record, FAIL or ERROR, signal handlers) is :mod:`harness.plugin.run`,
registered only when a harness run is active: a harness option was given, or a collected
test uses a harness fixture.
"""

from __future__ import annotations

import pytest

from harness.options import RUN_OPTIONS, add_options
from harness.plugin.balance import configure_balance, remove_folder
from harness.plugin.examples import (
    ExampleLog,
    Judge,
    OutageSettings,
    counterexample_key,
    load_outages,
    scenario_files,
)
from harness.plugin.fixtures import (
    bounds,
    example,
    example_log,
    harness_record,
    judge,
    ledger,
    links,
    mta,
    outage_settings,
    sites,
    strict_duplicates,
    world,
)
from harness.plugin.run import HarnessRun
from harness.plugin.search import configure_search, use_database_though_seeded
from harness.plugin.shards import play_shard, pytest_configure_node, session_seed
from harness.plugin.state import worker
from harness.profiles import PROFILES

#: Fixtures that need the run record: a test using one makes the session a harness run.
RUN_FIXTURES = frozenset({"world", "example", "ledger", "harness_record", "example_log", "judge"})
#: The name the run plugin is registered under.
RUN_PLUGIN = "mta-harness-run"

__all__ = [
    "ExampleLog",
    "Judge",
    "OutageSettings",
    "bounds",
    "counterexample_key",
    "example",
    "example_log",
    "harness_record",
    "judge",
    "ledger",
    "links",
    "load_outages",
    "mta",
    "outage_settings",
    "pytest_configure_node",
    "scenario_files",
    "sites",
    "strict_duplicates",
    "world",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mta-harness", "mta-harness: fault-injection tests for MTAs")
    add_options(group)  # the run options, as the CLI has them (harness/options.py)
    group.addoption(
        "--harness-profile",
        choices=sorted(PROFILES),
        default=None,
        help="Hypothesis profile for property suites: ci (small) or thorough",
    )
    group.addoption(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE",
        help="scenario file for suites/test_scenarios.py (repeatable; default: every file in "
        "fixtures/scenarios)",
    )
    group.addoption(
        "--harness-progress",
        choices=("auto", "tty", "lines", "off"),
        default="auto",
        help="progress: a status line on a terminal, a line per example elsewhere (auto)",
    )
    group.addoption(
        "--harness-report",
        default=None,
        metavar="DIR",
        help="write results.json for this run into DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    configure_search(config, worker(config))
    session_seed(config)  # a shard without a seed to derive its own from: refused now
    configure_balance(config)
    if _asked_for(config):
        activate(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    remove_folder(config)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    play_shard(config, items)
    if config.getoption("--example-db"):
        use_database_though_seeded(items)
    if any(RUN_FIXTURES & set(getattr(item, "fixturenames", ())) for item in items):
        activate(config)


def activate(config: pytest.Config) -> None:
    """Make this session a harness run (once): register :class:`HarnessRun`, whose own
    ``pytest_configure`` then creates the record and installs the signal handlers."""
    if not config.pluginmanager.has_plugin(RUN_PLUGIN):
        config.pluginmanager.register(HarnessRun(), RUN_PLUGIN)


def _asked_for(config: pytest.Config) -> bool:
    """Whether a harness option was given (a value other than its default)."""
    if config.getoption("--harness-report") or config.getoption("--harness-profile"):
        return True
    if config.getoption("--scenario"):
        return True
    return any(config.getoption(o.dest) != o.unset for o in RUN_OPTIONS)
