"""Deliberate breaks of the verdict path, one per name, for tests/integration/test_mutations.py.

Loaded with ``-p mutants`` (this folder on PYTHONPATH) and ``MTA_HARNESS_MUTANT=<name>``:
the named break is made before any test runs. Every break is one a careless change could
make; for each, some test of the verdict path must fail, or that path is untested.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from harness import results, workload
from harness.claims import duplicates, healthy, loss
from harness.claims.base import Verdict, result
from harness.ledger import Ledger
from harness.record import Run
from harness.timeline import Step


def claim_always_holds() -> None:
    def judge(self: object, facts: object) -> Any:
        return result("healthy_sites_keep_flowing", Verdict.HOLDS, "held (mutant)")

    healthy.HealthySitesKeepFlowing.judge = judge  # type: ignore[assignment,method-assign]


def ledger_drops_arrivals() -> None:
    original = Ledger.on_site_event

    def on_site_event(self: Ledger, event: dict[str, Any]) -> None:
        if event.get("event") == "message" and event.get("mail_from") != "":
            return  # a delivery, never booked
        original(self, event)

    Ledger.on_site_event = on_site_event  # type: ignore[method-assign]


def excuse_every_duplicate() -> None:
    duplicates._cut_after_acceptance = lambda ledger, copy: True


def accept_every_bounce() -> None:
    loss._bounced_on_a_transient_fault = lambda record, refusals: False


def exit_codes_swapped() -> None:
    results.EXIT_CODES[results.PASS], results.EXIT_CODES[results.FAIL] = 1, 0


def record_loses_examples() -> None:
    original = results.RunRecord.to_run

    def to_run(self: results.RunRecord) -> Run:
        return original(self).model_copy(update={"examples": self.examples[:1]})

    results.RunRecord.to_run = to_run  # type: ignore[method-assign]


def unjudged_runs_pass() -> None:
    results.RunRecord.unjudged = lambda self: []  # type: ignore[method-assign]


def harness_trouble_blamed_on_the_mta() -> None:
    workload._mta_trouble = lambda exc: True


def vacuous_scenarios_accepted() -> None:
    import harness.scenario_file as scenario_file

    def vacuous(sites: int, steps: tuple[Step, ...]) -> list[str]:
        return []

    scenario_file.vacuous = vacuous


MUTANTS: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        claim_always_holds,
        ledger_drops_arrivals,
        excuse_every_duplicate,
        accept_every_bounce,
        exit_codes_swapped,
        record_loses_examples,
        unjudged_runs_pass,
        harness_trouble_blamed_on_the_mta,
        vacuous_scenarios_accepted,
    )
}

_name = os.environ.get("MTA_HARNESS_MUTANT", "")
if _name:
    MUTANTS[_name]()
