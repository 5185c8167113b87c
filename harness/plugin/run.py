"""The harness run in a pytest session: its record, FAIL or ERROR per test, and signals.

Registered only when a harness run is active (a harness option given, or a test using a
harness fixture), as pytest's own stepwise plugin is only when asked for: a pytest session
that merely has mta-harness installed gets no signal handlers and no record.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis.errors import Flaky

from harness import interrupts
from harness.errors import HarnessError, UsageError
from harness.merge import merge_runs
from harness.plugin.search import SLOW_SHRINKING
from harness.plugin.shards import session_seed, session_shard
from harness.plugin.state import (
    CURRENT_TEST_KEY,
    EXAMPLE_LOG_KEY,
    RECORD_KEY,
    REPORT_DIR_KEY,
    SHRINKING_KEY,
    save,
    session_bounds,
    worker,
    worker_suffix,
)
from harness.progress import ProgressEraser
from harness.record import Run, load_run
from harness.results import ERROR, RunRecord, claim_verdicts, write_json_atomic
from harness.runtime import new_run_id
from harness.world import World


class HarnessRun:
    """The plugin of an active harness run."""

    def __init__(self) -> None:
        self._replaced_handlers: dict[int, Any] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        # Already installed when the CLI runs the suites; a plain pytest session gets it here.
        # Once a stop is requested no verdict of this session can be PASS or FAIL, even where
        # the KeyboardInterrupt surfaced as an ordinary test failure (deep inside Hypothesis).
        self._replaced_handlers = interrupts.install()
        report = config.getoption("--harness-report")
        config.stash[REPORT_DIR_KEY] = Path(report) if report else None
        config.stash[RECORD_KEY] = record = RunRecord(
            run_id=Path(report).name if report else new_run_id(),
            mta=config.getoption("--mta"),
            backend=config.getoption("--backend"),
            # Where not given, the world's choice for its MTA, set once the world is up.
            routing=config.getoption("--routing") or "static",
            profile=config.getoption("--harness-profile"),
            bounds=asdict(session_bounds(config)),
            started=time.time(),
        )
        shard = session_shard(config)
        record.shard = None if shard.whole else str(shard)
        record.seed = session_seed(config)
        config.pluginmanager.register(_CollectionWatch(record), "mta-harness-collection-watch")
        config.pluginmanager.register(ProgressEraser(config), "mta-harness-progress-eraser")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # A session run in-process (pytester, an IDE) leaves its host's handlers as it found them.
        interrupts.restore(self._replaced_handlers)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        _book(item, call, report)
        return report

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.config.stash[CURRENT_TEST_KEY] = item.nodeid
        test_function = getattr(item, "obj", None)
        item.config.stash[SHRINKING_KEY] = bool(getattr(test_function, "is_hypothesis_test", False))

    @pytest.hookimpl(trylast=True)  # after fixture teardown and after --junitxml wrote its file
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        _finish(session, exitstatus)


def _book(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Book one test's outcome in the run record: FAIL only for a verdict on the MTA."""
    if not (report.when == "call" or report.outcome != "passed"):
        return
    record = item.config.stash[RECORD_KEY]
    outcome: str = report.outcome
    # The harness failing to test is an ERROR, not the MTA failing a property.
    if (
        interrupts.requested()
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
    save(item.config)


def _finish(session: pytest.Session, exitstatus: int) -> None:
    record = session.config.stash[RECORD_KEY]
    if exitstatus == pytest.ExitCode.INTERRUPTED or interrupts.requested():
        record.interrupted = True
    record.finished = time.time()
    finished = save(session.config)
    folder = session.config.stash.get(REPORT_DIR_KEY, None)
    if folder is not None and finished is not None and _controller(session.config):
        finished = _merge_workers(folder, record)
    if folder is not None and finished is not None:
        from harness.report.html import write_report

        write_report(folder, finished, worker_suffix(session.config))
    junit = getattr(session.config.option, "xmlpath", None)
    if junit:
        from harness.report.junit import mark_harness_errors

        claims = finished.claims if finished is not None else claim_verdicts(record.examples)
        tests = finished.tests if finished is not None else record.tests
        mark_harness_errors(Path(junit), tests, claims)


def _controller(config: pytest.Config) -> bool:
    """Whether this is pytest-xdist's controller: its workers ran the tests and wrote the
    records, and it ran none itself."""
    return worker(config) is None and config.pluginmanager.has_plugin("dsession")


def _merge_workers(folder: Path, record: RunRecord) -> Run:
    """The workers' records (``results-gwN.json``) as the run's one ``results.json``, with the
    controller's own errors (a worker that crashed, an interrupt) added to theirs."""
    found = sorted(folder.glob("results-gw*.json"), key=lambda p: int(p.stem.split("gw")[1]))
    try:
        parts = [(f"worker {p.stem.removeprefix('results-')}", load_run(p)) for p in found]
        if not parts:
            raise UsageError("no worker wrote a run record")
        merged = merge_runs(parts, record.run_id, record.shard)
    except UsageError as exc:
        record.errors.append(f"cannot merge the workers' records: {exc}")
        return record.save(folder) or record.to_run()
    if record.errors or record.interrupted:
        errors = [*merged.errors, *record.errors]
        merged = merged.model_copy(
            update={"errors": errors, "verdict": ERROR, "interrupted": record.interrupted}
        )
    write_json_atomic(folder / "results.json", merged.as_json())
    return merged


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
            if counterexample.test == item.nodeid and counterexample.shrunk:
                counterexample.shrink_budget_ran_out = budget
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
