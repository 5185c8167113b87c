"""What the harness's pytest plugins share in one session: the run record and where it
goes, the test running now, the run's bounds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.claims import Bounds
from harness.options import run_bounds
from harness.record import Run
from harness.results import RunRecord

if TYPE_CHECKING:
    from harness.plugin.examples import ExampleLog

RECORD_KEY = pytest.StashKey[RunRecord]()
REPORT_DIR_KEY = pytest.StashKey[Path | None]()
CURRENT_TEST_KEY = pytest.StashKey[str]()
#: Whether the current test is a Hypothesis property (its last failing example is shrunk).
SHRINKING_KEY = pytest.StashKey[bool]()
EXAMPLE_LOG_KEY: pytest.StashKey[ExampleLog] = pytest.StashKey()
#: Set in each worker's ``workerinput`` by the controller where every worker is handed every
#: test (a worker's own ``--dist`` reads "no": pytest-xdist resets it there).
EVERY_TEST_KEY = "mta_harness_every_test"


def session_bounds(config: pytest.Config, own: Bounds | None = None) -> Bounds:
    """The bounds of this run, by the rule of :func:`harness.options.run_bounds`."""
    return run_bounds(
        config.getoption("--bound"),
        config.getoption("--recovery-bound"),
        bool(config.getoption("--require-recovery")),
        own,
    )


def worker(config: pytest.Config) -> str | None:
    """This process's pytest-xdist worker id (gw0, ...), None outside a worker. Read from
    pytest's config, not the environment: a run started by a test inherits the variables."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


def worker_suffix(config: pytest.Config) -> str:
    name = worker(config)
    return f"-{name}" if name else ""


def save(config: pytest.Config) -> Run | None:
    """Write the run record into the report folder, if there is one; once the run finished,
    the record as its readers load it."""
    folder = config.stash.get(REPORT_DIR_KEY, None)
    if folder is None:
        return None
    return config.stash[RECORD_KEY].save(folder, worker_suffix(config))
