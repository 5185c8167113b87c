"""No verdict without evidence: a run that judged nothing is ERROR, never PASS, and an exit
status always means what the record says (pure functions of the run record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.results import ERROR, FAIL, PASS, RunRecord, agree_with_pytest, child_verdict


def example(test: str, healthy: str = "holds") -> dict[str, Any]:
    return {
        "test": test,
        "holds": healthy != "broken",
        "claims": [{"name": "healthy_sites_keep_flowing", "verdict": healthy}],
    }


def record(tests: dict[str, str], examples: list[dict[str, Any]]) -> RunRecord:
    run = RunRecord("r", "seedmta-async", "local", "ci", {}, 0.0)
    run.tests, run.examples = tests, examples
    return run


def test_a_run_passes_only_on_examples_that_put_the_seed_claim_to_the_test() -> None:
    assert record({"t": "passed"}, [example("t"), example("t", "not judged")]).verdict == PASS
    nothing_judged = record({"t": "passed"}, [example("t", "not judged")])
    assert nothing_judged.verdict == ERROR
    assert "never put to the test" in nothing_judged.unjudged()[0]
    assert nothing_judged.to_json()["examples_judged"] == 0


def test_a_passing_test_that_recorded_no_example_is_no_pass() -> None:
    silent = record({"a": "passed", "b": "passed"}, [example("a")])
    assert silent.verdict == ERROR
    assert silent.unjudged() == ["b passed without recording an example: it judged nothing"]


def test_skipped_tests_count_for_nothing() -> None:
    assert record({"t": "skipped"}, []).verdict == ERROR
    assert record({"a": "passed", "b": "skipped"}, [example("a")]).verdict == PASS


def test_a_broken_claim_fails_even_with_little_else_judged() -> None:
    assert record({"t": "failed"}, [example("t", "broken")]).verdict == FAIL


def test_pytest_status_and_record_must_agree() -> None:
    passing = {"verdict": PASS, "errors": []}
    assert agree_with_pytest(passing, 0) is passing
    crashed = agree_with_pytest(passing, 3)  # INTERNALERROR after a passing test
    assert crashed["verdict"] == ERROR and "exit status 3" in crashed["errors"][0]
    assert agree_with_pytest({"verdict": FAIL}, 1)["verdict"] == FAIL
    assert agree_with_pytest({"verdict": FAIL}, 0)["verdict"] == ERROR
    assert agree_with_pytest({"verdict": ERROR}, 1)["verdict"] == ERROR


@pytest.mark.parametrize(
    ("results", "status", "verdict"),
    [
        ({"verdict": PASS, "partial": False}, 0, PASS),
        ({"verdict": FAIL, "partial": False}, 1, FAIL),
        ({"verdict": PASS, "partial": True}, 0, ERROR),  # killed after one passing test
        ({"verdict": PASS, "partial": False}, -9, ERROR),  # killed after writing its record
        ({"verdict": PASS, "partial": False}, 3, ERROR),
        ({"verdict": PASS, "partial": False, "interrupted": True}, 0, "INTERRUPTED"),
        ({"verdict": PASS, "partial": False}, 130, "INTERRUPTED"),
        (None, 0, ERROR),
    ],
)
def test_a_child_run_is_tabled_by_its_record_and_its_exit_status(
    results: dict[str, Any] | None, status: int, verdict: str
) -> None:
    assert child_verdict(results, status) == verdict


def test_the_harness_failing_is_error_3_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(["certify", "--mta", "seedmta-async", "--reports", str(blocker / "reports")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "NotADirectoryError" in err


def test_the_certificate_states_a_scenario_file_s_own_bounds() -> None:
    from harness.report.certificate import certificate, markdown

    run_bounds = {"delivery": 3.0, "recovery": 30.0, "retry": 30.0, "require_recovery": False}
    own = {**run_bounds, "delivery": 5.0}
    results = {
        "verdict": PASS,
        "bounds": run_bounds,
        "examples_run": 2,
        "examples_judged": 2,
        "failing_examples": 0,
        "examples": [
            {**example("a"), "bounds": run_bounds, "scenario": {"name": "drawn"}},
            {**example("b"), "bounds": own, "scenario": {"name": "slow-link"}},
        ],
    }
    cert = certificate(results, ["suites"], "default", 1)
    assert cert["scenario_bounds"] == {"slow-link": own}
    text = markdown(cert)
    assert "scenario slow-link's own: healthy sites 5.0 s" in text
    assert "2 judged healthy mail while a link was faulted" in text


def test_the_record_keeps_every_example_it_was_given() -> None:
    run = record({"a": "passed"}, [example("a"), example("a", "broken"), example("a")])
    data = run.to_json()
    assert data["examples_run"] == len(data["examples"]) == 3
    assert data["failing_examples"] == 1
    (claim,) = data["claims"]
    assert claim["counts"] == {"holds": 2, "broken": 1}
