"""The pytest plugin: how suites (shipped or the user's own) reach the harness.

Registered through the ``pytest11`` entry point, so installing mta-harness is enough. It adds
options (``--mta``, ``--backend``, ``--harness-profile``, bounds) and fixtures:

``world``       the running test world for the session (Toxiproxy, sites, links, the MTA)
``example``     a clean slate in that world for one test: submit, fault, read the ledger
``ledger``      the example's ledger
``links``/``sites``/``mta``  parts of the world
``bounds``      the property bounds in force
``harness_record``  the run record; suites add each example's result to it
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from harness import __version__
from harness.backends import open_backend
from harness.claims import Bounds
from harness.errors import HarnessError
from harness.interrupts import request_stop
from harness.ledger import Ledger
from harness.links.link import Link
from harness.mta import get_adapter, read_fragment
from harness.options import add_options, run_bounds
from harness.profiles import PROFILES
from harness.progress import Progress
from harness.results import RunRecord, claim_verdicts
from harness.runtime import new_run_id
from harness.scenario import ExampleResult, play
from harness.scenario_file import SCENARIOS, dump_outage
from harness.sites.handle import SiteHandle
from harness.timeline import Outage
from harness.world import Example, World

for _name, _options in PROFILES.items():
    settings.register_profile(
        _name,
        deadline=None,  # real systems: the default 200 ms deadline is meaningless
        suppress_health_check=[HealthCheck.too_slow],
        # No explain phase: it replays the shrunk example with parts varied, dozens of
        # examples of seconds each against a real MTA, to annotate what did not matter.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        **_options,
    )

#: Why Hypothesis stopped, in its statistics, when the shrink budget ran out.
SLOW_SHRINKING = "shrinking was very slow"
#: Replays of a failure Hypothesis could not reproduce, to say how intermittent it is.
INTERMITTENT_REPLAYS = 4

RECORD_KEY = pytest.StashKey[RunRecord]()
REPORT_DIR_KEY = pytest.StashKey[Path | None]()
CURRENT_TEST_KEY = pytest.StashKey[str]()
#: Whether the current test is a Hypothesis property (its last failing example is shrunk).
SHRINKING_KEY = pytest.StashKey[bool]()
PROGRESS_KEY = pytest.StashKey[Progress]()
EXAMPLE_LOG_KEY = pytest.StashKey["ExampleLog"]()


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


#: Signals received; once set, no verdict of this session can be PASS or FAIL.
_INTERRUPTS: list[int] = []


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Remember it: a KeyboardInterrupt raised deep inside Hypothesis can surface as an
    # ordinary test failure, and an interrupted run must never be reported as FAIL or PASS.
    _INTERRUPTS.append(signum)
    request_stop()  # raised again at the next example, should this one be swallowed
    if len(_INTERRUPTS) == 1:
        raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    profile = config.getoption("--harness-profile")
    if profile:
        settings.load_profile(profile)
    _database_per_worker(_worker(config))
    _shrink_budget(float(config.getoption("--shrink-budget")))
    # SIGTERM tears down like Ctrl-C does: fixtures finalise, every process is stopped.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    report = config.getoption("--harness-report")
    config.stash[REPORT_DIR_KEY] = Path(report) if report else None
    config.stash[RECORD_KEY] = record = RunRecord(
        run_id=Path(report).name if report else new_run_id(),
        mta=config.getoption("--mta"),
        backend=config.getoption("--backend"),
        profile=profile,
        bounds=asdict(_run_bounds(config)),
        started=time.time(),
    )
    config.pluginmanager.register(_CollectionWatch(record), "mta-harness-collection-watch")
    config.pluginmanager.register(_ProgressEraser(config), "mta-harness-progress-eraser")


def _shrink_budget(seconds: float) -> None:
    """Cap Hypothesis's shrinking time. It has no setting for it: its engine stops shrinking
    after ``MAX_SHRINKING_SECONDS`` (5 minutes) and reports the best example so far, and
    that module constant is read when shrinking starts."""
    if seconds <= 0:
        raise pytest.UsageError("--shrink-budget must be more than 0 seconds")
    from hypothesis.internal.conjecture import engine

    if hasattr(engine, "MAX_SHRINKING_SECONDS"):
        engine.MAX_SHRINKING_SECONDS = int(max(1.0, seconds))
    _stop_steering_once_failing()


def _stop_steering_once_failing() -> None:
    """End Hypothesis's target phase (hill climbing on ``hypothesis.target``) as soon as a
    failure is found. Steering is there to find a failure; after one, each climbing step is
    another example of seconds against a real MTA, outside the shrink budget (measured:
    postfix-pool, over 5 minutes of climbing after the first failure before any shrink)."""
    from hypothesis.internal.conjecture import optimiser

    climber = getattr(optimiser, "Optimiser", None)
    original = getattr(climber, "consider_new_data", None)
    if climber is None or original is None or getattr(original, "_harness", False):
        return

    def consider_new_data(self: Any, data: Any) -> bool:
        if self.engine.interesting_test_cases:
            self.improvements = self.max_improvements + 1  # ends the climb
            return False
        return bool(original(self, data))

    consider_new_data._harness = True  # type: ignore[attr-defined]
    climber.consider_new_data = consider_new_data


def _database_per_worker(worker: str | None) -> None:
    """Give each pytest-xdist worker a Hypothesis example database of its own, so workers
    never replay each other's examples (or race on one folder)."""
    current = settings.default
    if worker is None or current is None or current.database is None:
        return
    name = f"mta-harness-{worker}"
    settings.register_profile(
        name,
        parent=current,
        database=DirectoryBasedExampleDatabase(f".hypothesis/examples-{worker}"),
    )
    settings.load_profile(name)


def _run_bounds(config: pytest.Config, own: Bounds | None = None) -> Bounds:
    """The bounds of this run, by the rule of :func:`harness.options.run_bounds`."""
    return run_bounds(
        config.getoption("--bound"),
        config.getoption("--recovery-bound"),
        bool(config.getoption("--require-recovery")),
        own,
    )


def _worker(config: pytest.Config) -> str | None:
    """This process's pytest-xdist worker id (gw0, ...), None outside a worker. Read from
    pytest's config, not the environment: a run started by a test inherits the variables."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


def _worker_suffix(config: pytest.Config) -> str:
    worker = _worker(config)
    return f"-{worker}" if worker else ""


def _save(config: pytest.Config) -> None:
    folder = config.stash.get(REPORT_DIR_KEY, None)
    if folder is not None:
        config.stash[RECORD_KEY].save(folder, _worker_suffix(config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" or report.outcome != "passed":
        record = item.config.stash[RECORD_KEY]
        outcome = report.outcome
        # The harness failing to test is an ERROR, not the MTA failing a property.
        if (
            _INTERRUPTS
            or (call.excinfo is not None and call.excinfo.errisinstance(HarnessError))
            or (report.when != "call" and report.outcome == "failed")
            or (report.failed and call.excinfo is not None and not _judged(call.excinfo.value))
        ):
            outcome = "error"
        if outcome == "error" and call.excinfo is not None:
            record.errors.append(f"{item.nodeid}: {call.excinfo.exconly()}")
        elif outcome == "failed" and call.excinfo is not None:
            record.failures[item.nodeid] = _first_lines(call.excinfo.exconly())
            _after_failure(item, call.excinfo.value)
        if report.when == "call" or outcome in ("error", "skipped"):
            record.tests[item.nodeid] = outcome
        _save(item.config)
    return report


def _after_failure(item: pytest.Item, exc: BaseException) -> None:
    """Say whether shrinking ran out of its budget, and replay a failure Hypothesis could not
    reproduce to measure how intermittent it is (never hidden, never dropped)."""
    log = item.config.stash.get(EXAMPLE_LOG_KEY, None)
    if log is None:
        return
    record = item.config.stash[RECORD_KEY]
    budget = float(item.config.getoption("--shrink-budget"))
    # Hypothesis's pytest plugin leaves its statistics on the item: they say why it stopped.
    if SLOW_SHRINKING in str(getattr(item, "hypothesis_statistics", "")):
        for counterexample in record.counterexamples.values():
            if counterexample.get("test") == item.nodeid and counterexample.get("shrunk"):
                counterexample["shrink_budget_ran_out"] = budget
    world = getattr(item, "funcargs", {}).get("world")
    if _is_flaky(exc) and isinstance(world, World):
        log.replay_intermittent(item.nodeid, world)


def _is_flaky(exc: BaseException) -> bool:
    if isinstance(exc, Flaky):
        return True
    return isinstance(exc, BaseExceptionGroup) and any(_is_flaky(e) for e in exc.exceptions)


def _judged(exc: BaseException) -> bool:
    """Whether ``exc`` is a verdict on the MTA: a property's assertion, or a group of them
    (Hypothesis's several distinct failures, or a failure that did not repeat). Anything
    else (a TypeError in a suite, a socket error in the harness) means it could not judge."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_judged(inner) for inner in exc.exceptions)
    return isinstance(exc, (AssertionError, pytest.fail.Exception))


class _CollectionWatch:
    """Books suites that cannot be collected: they tested nothing, so the verdict is ERROR."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines()
            self.record.errors.append(
                f"cannot collect {report.nodeid}: {lines[-1] if lines else 'unknown error'}"
            )


def _first_lines(text: str, lines: int = 12) -> str:
    kept = text.splitlines()[:lines]
    noise = ("+  where", "assert ")  # pytest's rewritten-assert detail, already said above
    return "\n".join(line for line in kept if not line.lstrip().startswith(noise))


def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[CURRENT_TEST_KEY] = item.nodeid
    test_function = getattr(item, "obj", None)
    item.config.stash[SHRINKING_KEY] = bool(getattr(test_function, "is_hypothesis_test", False))


@pytest.hookimpl(trylast=True)  # after fixture teardown and after --junitxml wrote its file
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    record = session.config.stash[RECORD_KEY]
    if exitstatus == pytest.ExitCode.INTERRUPTED or _INTERRUPTS:
        record.interrupted = True
    record.finished = time.time()
    _save(session.config)
    folder = session.config.stash.get(REPORT_DIR_KEY, None)
    if folder is not None:
        from harness.report.html import write_report

        write_report(folder, record.to_json(), _worker_suffix(session.config))
    junit = getattr(session.config.option, "xmlpath", None)
    if junit:
        from harness.report.junit import mark_harness_errors

        mark_harness_errors(Path(junit), record.tests, claim_verdicts(record.examples))


def _progress(config: pytest.Config) -> Progress:
    """The run's progress display, made on first use (the terminal reporter exists by then)."""
    if PROGRESS_KEY not in config.stash:
        mode = config.getoption("--harness-progress")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        has_markup = bool(reporter is not None and reporter.hasmarkup)
        say = (lambda _text: None) if mode == "off" else (lambda text: _say(config, text))
        config.stash[PROGRESS_KEY] = Progress.open(say, mode, has_markup)
    return config.stash[PROGRESS_KEY]


class _ProgressEraser:
    """Keeps the progress line off pytest's own output: drawn on a line of its own while a
    test runs, erased just before pytest writes its mark for the test."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        progress = self.config.stash.get(PROGRESS_KEY, None)
        if progress is not None and progress.on_terminal:
            _terminal(self.config, lambda reporter: reporter.ensure_newline())
            progress.resume()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if PROGRESS_KEY in self.config.stash:
            self.config.stash[PROGRESS_KEY].clear()


def _terminal(config: pytest.Config, write: Callable[[Any], None]) -> None:
    """Write through pytest's terminal reporter now, past its output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        write(reporter)
    reporter.flush()  # a pipe (CI log) should see it now, not at exit


def _say(config: pytest.Config, text: str) -> None:
    """One progress line on the terminal (or CI log) now, past pytest's output capture."""
    progress = config.stash.get(PROGRESS_KEY, None)
    if progress is not None:
        progress.clear()
    writer = config.get_terminal_writer()

    def write(reporter: Any) -> None:
        if writer.width_of_current_line:  # after pytest's progress dots: a line of our own
            writer.line()
        reporter.write_line(f"mta-harness: {text}")

    _terminal(config, write)
    if progress is not None and progress.on_terminal:
        progress.resume()


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_record(request: pytest.FixtureRequest) -> RunRecord:
    """The run record; ``harness_record.examples`` grows as suites report examples."""
    return request.config.stash[RECORD_KEY]


class ExampleLog:
    """Adds example results to the run record and keeps, per test and per broken claim, the
    last failure (Hypothesis replays each distinct failure's shrunk example last)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        #: The last failing result per counterexample key, to replay an intermittent one.
        self.last_failures: dict[str, ExampleResult] = {}

    def add(self, result: ExampleResult) -> None:
        record = self._config.stash[RECORD_KEY]
        test = self._config.stash.get(CURRENT_TEST_KEY, "?")
        data = {**result.to_json(), "test": test, "logged_at": time.time()}
        record.examples.append(data)
        history = data["history"]  # in time order: its last event ends the example
        _progress(self._config).example_done(result, history[-1]["at"] if history else 0.0)
        if not result.holds:
            key = counterexample_key(test, result.broken_claim or "?")
            counterexample = {
                **data,
                "test": test,
                "explanation": result.explain(),
                "shrunk": self._config.stash.get(SHRINKING_KEY, False),
            }
            written = self._export(key, result, counterexample["explanation"])
            if written is not None:
                counterexample["file"] = str(written)
            record.counterexamples[key] = counterexample
            self.last_failures[key] = result
        _save(self._config)

    def replay_intermittent(self, test: str, world: World) -> None:
        """A failure Hypothesis could not reproduce: replay each of the test's last failures
        a few times and record how often it came back ("seen in 2 of 5 replays")."""
        record = self._config.stash[RECORD_KEY]
        for key, failed in list(self.last_failures.items()):
            if record.counterexamples.get(key, {}).get("test") != test:
                continue
            again = 0
            for _ in range(INTERMITTENT_REPLAYS):
                replayed = play(world, failed.outage, failed.bounds, claims=failed.judges)
                again += replayed.broken_claim == failed.broken_claim
            record.counterexamples[key]["intermittent"] = (
                f"seen in {again + 1} of {INTERMITTENT_REPLAYS + 1} replays"
            )
        _save(self._config)

    def _export(self, key: str, result: ExampleResult, explanation: str) -> Path | None:
        """Write the failing example as a scenario file into the run folder, to replay."""
        folder = self._config.stash.get(REPORT_DIR_KEY, None)
        if folder is None:
            return None
        record = self._config.stash[RECORD_KEY]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", key.rpartition("::")[2]).strip("-")[:80]
        path = folder / f"counterexample-{slug or 'test'}.toml"
        header = "\n".join(
            [
                f"Counterexample found by mta-harness {__version__} in run {record.run_id},",
                f"{key}, MTA {record.mta} on {record.backend}.",
                f"Replay it:  mta-harness replay {path}",
                "Keep it as a regression test: copy it into fixtures/scenarios/.",
                "",
                "What happened:",
                *explanation.splitlines(),
            ]
        )
        outage = result.outage
        if outage.name in ("drawn", "outage"):
            # A scenario file's name is at most 80 characters.
            outage = replace(outage, name=f"counterexample-{slug}"[:80].rstrip("-"))
        path.write_text(
            dump_outage(
                outage,
                header,
                mta=record.mta,
                backend=record.backend,
                bounds=result.bounds,
                strict_duplicates=bool(self._config.getoption("--strict-duplicates")),
            )
        )
        return path


def counterexample_key(test: str, claim: str) -> str:
    """How a run record names one test's counterexample for one broken claim."""
    return f"{test} [{claim}]"


@pytest.fixture(scope="session")
def example_log(request: pytest.FixtureRequest) -> ExampleLog:
    """Where property suites report each example's result."""
    if EXAMPLE_LOG_KEY not in request.config.stash:
        request.config.stash[EXAMPLE_LOG_KEY] = ExampleLog(request.config)
    return request.config.stash[EXAMPLE_LOG_KEY]


@pytest.fixture(scope="session")
def bounds(request: pytest.FixtureRequest) -> Bounds:
    """The bounds in force (``--bound``, ``--recovery-bound``)."""
    return _run_bounds(request.config)


class OutageSettings:
    """Bounds and duplicate policy for one scenario file: a value given on the command line
    wins, then the file's own, then the harness's default."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def bounds(self, outage: Outage) -> Bounds:
        return _run_bounds(self._config, outage.bounds)

    def strict_duplicates(self, outage: Outage) -> bool:
        return bool(self._config.getoption("--strict-duplicates") or outage.strict_duplicates)


@pytest.fixture(scope="session")
def outage_settings(request: pytest.FixtureRequest) -> OutageSettings:
    """Bounds and duplicate policy for a scenario file's outage (command line, then file)."""
    return OutageSettings(request.config)


def scenario_files(config: pytest.Config) -> list[Path]:
    """The scenario files a run plays: ``--scenario`` ones, or the shipped library."""
    chosen = config.getoption("--scenario")
    return [Path(f) for f in chosen] if chosen else sorted(SCENARIOS.glob("*.toml"))


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
    run_id = harness_record.run_id + _worker_suffix(request.config)
    fragment = read_fragment(request.config.getoption("--mta-config"))
    backend = open_backend(request.config.getoption("--backend"), run_id)
    world = World(backend, adapter, fragment=fragment)
    world.keep_logs = request.config.stash.get(REPORT_DIR_KEY, None)
    with world as running:
        if running.identity is not None:
            harness_record.identity = dict(running.identity.__dict__)
        run_id = backend.run_id
        harness_record.worlds.append(run_id)
        reaped = getattr(backend, "reaped", None)  # what killed runs left, if it reaped
        if reaped:
            _say(request.config, reaped.describe())
        _say(
            request.config,
            f"world {run_id} up: {adapter.name} on {backend.name}, "
            f"{len(running.remote_sites)} sites behind Toxiproxy",
        )
        progress = _progress(request.config)
        progress.watch(running)
        try:
            yield running
        finally:
            progress.close()
            # Taking a docker world down takes seconds: say why the run has not ended yet.
            _say(request.config, f"world {run_id} going down")


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
