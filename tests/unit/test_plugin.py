"""The pytest plugin, tested in process with pytester: a harness run books a broken claim as
FAIL and the harness's own trouble as ERROR, and a session that only has mta-harness
installed gets neither a run record nor the harness's signal handlers."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = """
from harness.errors import HarnessError

def test_a_claim_broke(harness_record):
    raise AssertionError("healthy mail waited")

def test_the_harness_could_not_test(harness_record):
    raise HarnessError("a mock site died")

def test_a_bug_in_the_suite(harness_record):
    raise TypeError("not a verdict")

def test_fine(harness_record):
    pass
"""


@pytest.fixture(autouse=True)
def handlers_kept() -> Iterator[None]:
    """An in-process run may install the harness's handlers: put back this session's."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_broken_claim_is_fail_and_the_harness_s_trouble_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    report = tmp_path / "report"
    pytester.runpytest_inprocess(f"--harness-report={report}", "-p", "no:cacheprovider")
    record = json.loads((report / "results.json").read_text())
    assert record["tests"] == {
        "test_suite.py::test_a_claim_broke": "failed",
        "test_suite.py::test_the_harness_could_not_test": "error",
        "test_suite.py::test_a_bug_in_the_suite": "error",
        "test_suite.py::test_fine": "passed",
    }
    assert record["verdict"] == "ERROR" and record["partial"] is False
    assert any("a mock site died" in e for e in record["errors"])


def test_a_harness_fixture_alone_makes_a_harness_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_uses=(
            "import signal\n"
            "from harness.interrupts import _on_signal\n"
            "def test_it(harness_record):\n"
            "    assert harness_record.run_id\n"
            "    assert signal.getsignal(signal.SIGTERM) is _on_signal\n"
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_session_that_only_has_the_harness_installed_is_left_alone(
    pytester: pytest.Pytester,
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    pytester.makepyfile(
        test_plain=(
            "import signal\n"
            "from harness.interrupts import _on_signal\n"
            "def test_plain(request):\n"
            "    from harness.plugin.state import RECORD_KEY\n"
            "    assert RECORD_KEY not in request.config.stash\n"
            "    assert signal.getsignal(signal.SIGTERM) is not _on_signal\n"
        )
    )
    # This unit session may itself be a harness run, with the harness's handler installed.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.glob("results*.json"))
