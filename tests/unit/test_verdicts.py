"""No verdict without evidence: a run that judged nothing is ERROR, never PASS, and an exit
status always means what the record says (pure functions of the run record)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness.claims import Bounds
from harness.cli import main
from harness.record import Example, Run, parse_run
from harness.results import (
    ERROR,
    FAIL,
    PASS,
    RunRecord,
    agree_with_pytest,
    child_verdict,
    pass_sentence,
)

from ..conftest import example_record

RUN_BOUNDS = asdict(Bounds())


def example(
    test: str, healthy: str = "holds", bounds: dict[str, Any] | None = None, name: str = "drawn"
) -> Example:
    return example_record(test, healthy, bounds, name)


def record(tests: dict[str, str], examples: list[Example]) -> RunRecord:
    run = RunRecord("r", "seedmta-async", "local", "ci", RUN_BOUNDS, 0.0)
    run.tests, run.examples = tests, examples
    return run


def typed(run: RunRecord, **changes: Any) -> Run:
    """The record as readers load it (finished), with ``changes`` to its fields."""
    run.finished = 1.0
    return parse_run({**run.to_json(), **changes}, "test")


def test_a_run_passes_only_on_examples_that_put_the_seed_claim_to_the_test() -> None:
    assert record({"t": "passed"}, [example("t"), example("t", "not judged")]).verdict == PASS
    nothing_judged = record({"t": "passed"}, [example("t", "not judged")])
    assert nothing_judged.verdict == ERROR
    assert "never put to the test" in nothing_judged.unjudged()[0]
    assert nothing_judged.to_json()["examples_judged"] == 0


def test_healthy_mail_explained_as_the_mta_s_own_pacing_was_judged() -> None:
    # Late, but as late with every link up (harness.claims.pacing): a warning, and a test.
    paced = record({"t": "passed"}, [example("t", "warning")])
    assert paced.verdict == PASS and paced.judged_examples() == 1


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
    passing = typed(record({"t": "passed"}, [example("t")]))
    assert passing.verdict == PASS
    assert agree_with_pytest(passing, 0) is passing
    crashed = agree_with_pytest(passing, 3)  # INTERNALERROR after a passing test
    assert crashed.verdict == ERROR and "exit status 3" in crashed.errors[0]
    failing = typed(record({"t": "failed"}, [example("t", "broken")]))
    assert agree_with_pytest(failing, 1).verdict == FAIL
    assert agree_with_pytest(failing, 0).verdict == ERROR
    erroring = typed(record({"t": "error"}, [example("t")]))
    assert agree_with_pytest(erroring, 1).verdict == ERROR


@pytest.mark.parametrize(
    ("changes", "status", "verdict"),
    [
        ({}, 0, PASS),
        ({"verdict": FAIL}, 1, FAIL),
        ({"partial": True}, 0, ERROR),  # killed after one passing test
        ({}, -9, ERROR),  # killed after writing its record
        ({}, 3, ERROR),
        ({"interrupted": True}, 0, "INTERRUPTED"),
        ({}, 130, "INTERRUPTED"),
        (None, 0, ERROR),
    ],
)
def test_a_child_run_is_tabled_by_its_record_and_its_exit_status(
    changes: dict[str, Any] | None, status: int, verdict: str
) -> None:
    run = None if changes is None else typed(record({"t": "passed"}, [example("t")]), **changes)
    assert child_verdict(run, status) == verdict


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
    from harness.report.provenance import Provenance

    own = {**RUN_BOUNDS, "delivery": 5.0}
    run = typed(record({"a": "passed"}, [example("a"), example("a", bounds=own, name="slow-link")]))
    provenance = Provenance(suite_digest="sha256:0", fragment_digest=None, rootfs=None)
    cert = certificate(run, ["suites"], provenance, "default", 1)
    assert {name: b.delivery for name, b in cert.scenario_bounds.items()} == {"slow-link": 5.0}
    text = markdown(cert)
    assert "scenario slow-link's own: healthy sites 5.0 s" in text
    assert "2 judged healthy mail while a link was faulted" in text


def test_a_record_of_another_shape_gets_one_clear_message(tmp_path: Path) -> None:
    from harness.errors import UsageError
    from harness.record import load_run

    old = tmp_path / "results.json"
    old.write_text('{"run_id": "x", "verdict": "PASS", "properties": []}')
    with pytest.raises(UsageError, match=r"results.json: not a run record this harness"):
        load_run(old)


def test_the_record_keeps_every_example_it_was_given() -> None:
    run = record({"a": "passed"}, [example("a"), example("a", "broken"), example("a")])
    data = run.to_json()
    assert data["examples_run"] == len(data["examples"]) == 3
    assert data["failing_examples"] == 1
    (claim,) = data["claims"]
    assert claim["counts"] == {"holds": 2, "broken": 1}


def test_a_pass_says_no_mail_was_lost_only_where_loss_was_proven() -> None:
    proven = typed(record({"t": "passed"}, [example("t")]))
    assert pass_sentence(proven).endswith("and no mail was lost.")
    queued = example("t")
    healthy = queued.claims[0]
    queued.claims.append(
        healthy.model_copy(
            update={"name": "no_loss", "verdict": "not proven", "summary": "1 unsettled"}
        )
    )
    unproven = typed(record({"t": "passed"}, [queued]))
    assert unproven.verdict == PASS
    said = pass_sentence(unproven)
    assert "loss could not be proven" in said and "no mail was lost" not in said
