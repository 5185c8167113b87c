"""The harness's pytest fixtures: the world, a clean example in it, its parts, the bounds,
and where suites report examples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.backends import open_backend
from harness.claims import Bounds
from harness.ledger import Ledger
from harness.links.link import Link
from harness.mta import get_adapter, read_fragment
from harness.plugin.examples import ExampleLog, Judge, OutageSettings
from harness.plugin.state import (
    EXAMPLE_LOG_KEY,
    RECORD_KEY,
    REPORT_DIR_KEY,
    session_bounds,
    worker_suffix,
)
from harness.progress import progress_of, say
from harness.results import RunRecord
from harness.sites.handle import SiteHandle
from harness.world import Example, World


@pytest.fixture(scope="session")
def harness_record(request: pytest.FixtureRequest) -> RunRecord:
    """The run record; ``harness_record.examples`` grows as suites report examples."""
    return request.config.stash[RECORD_KEY]


@pytest.fixture(scope="session")
def example_log(request: pytest.FixtureRequest) -> ExampleLog:
    """Where property suites report each example's result."""
    if EXAMPLE_LOG_KEY not in request.config.stash:
        request.config.stash[EXAMPLE_LOG_KEY] = ExampleLog(request.config)
    return request.config.stash[EXAMPLE_LOG_KEY]


@pytest.fixture(scope="session")
def bounds(request: pytest.FixtureRequest) -> Bounds:
    """The bounds in force (``--bound``, ``--recovery-bound``)."""
    return session_bounds(request.config)


@pytest.fixture(scope="session")
def outage_settings(request: pytest.FixtureRequest) -> OutageSettings:
    """Bounds and duplicate policy for a scenario file's outage (command line, then file)."""
    return OutageSettings(request.config)


@pytest.fixture(scope="session")
def strict_duplicates(request: pytest.FixtureRequest) -> bool:
    """Whether at-least-once duplicates break the no-duplicates property
    (``--strict-duplicates``)."""
    return bool(request.config.getoption("--strict-duplicates"))


@pytest.fixture(scope="session")
def world(request: pytest.FixtureRequest, harness_record: RunRecord) -> Iterator[World]:
    """The running test world for this session, torn down at the end (and on Ctrl-C)."""
    adapter = get_adapter(request.config.getoption("--mta"))
    # One id for the run's report folder and everything its world starts; an xdist worker
    # adds its name, as each worker has a world of its own.
    run_id = harness_record.run_id + worker_suffix(request.config)
    fragment = read_fragment(request.config.getoption("--mta-config"))
    backend = open_backend(request.config.getoption("--backend"), run_id)
    try:
        world = World(
            backend,
            adapter,
            fragment=fragment,
            image=request.config.getoption("--mta-image"),
            routing=request.config.getoption("--routing"),
        )
    except BaseException:
        backend.close()
        raise
    world.keep_logs = request.config.stash.get(REPORT_DIR_KEY, None)
    with world as running:
        if running.identity is not None:
            harness_record.identity = dict(running.identity.__dict__)
        harness_record.routing = running.plan.routing
        run_id = backend.run_id
        harness_record.worlds.append(run_id)
        reaped = getattr(backend, "reaped", None)  # what killed runs left, if it reaped
        if reaped:
            say(request.config, reaped.describe())
        say(
            request.config,
            f"world {run_id} up: {adapter.name} on {backend.name}, "
            f"{len(running.remote_sites)} sites behind Toxiproxy",
        )
        progress = progress_of(request.config)
        progress.watch(running)
        try:
            yield running
        finally:
            progress.close()
            # Taking a docker world down takes seconds: say why the run has not ended yet.
            say(request.config, f"world {run_id} going down")


@pytest.fixture
def example(world: World) -> Iterator[Example]:
    """A clean slate in the world for one test: links healed, sites tame, queue empty."""
    with world.example() as fresh:
        yield fresh


@pytest.fixture
def ledger(example: Example) -> Ledger:
    """The current example's ledger: every message submitted and what became of it."""
    return example.ledger


@pytest.fixture
def links(world: World) -> dict[str, Link]:
    """Links by site name; pass one to a fault's ``apply``."""
    return world.links


@pytest.fixture
def sites(world: World) -> dict[str, SiteHandle]:
    """Mock sites by name; ``sites['site-a'].behave(...)`` makes one misbehave."""
    return world.sites


@pytest.fixture
def mta(world: World) -> World:
    """The world, for its MTA: ``mta.identity``, ``mta.queued_recipients()``,
    ``mta.restart_mta()``."""
    return world


@pytest.fixture(scope="session")  # Hypothesis tests may only take session-scoped ones
def judge(world: World, example_log: ExampleLog, outage_settings: OutageSettings) -> Judge:
    """Play an outage, record it, and raise its first broken claim: ``judge(outage)``."""
    return Judge(world, example_log, outage_settings)
