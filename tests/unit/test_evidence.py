"""Claim evidence is typed: written as each claim's own models, read back by kind."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

import pytest
from pydantic import ValidationError

from harness.claims import Bounds
from harness.claims.evidence import EvidenceItem, QueueHold, evidence_kind, read_evidence
from harness.claims.healthy import LateMessage
from harness.claims.recovery import SlowlyRecovered
from harness.record import parse_run
from harness.results import RunRecord

from ..conftest import example_record


def run_with(evidence: list[dict[str, object]]) -> RunRecord:
    record = RunRecord("r", "seedmta-async", "local", "ci", asdict(Bounds()), 0.0)
    record.examples = [example_record(evidence=evidence)]
    record.finished = 1.0
    return record


def test_each_item_comes_back_from_the_record_as_its_claims_class() -> None:
    late = LateMessage(id="e1m1", site="site-b", waited=4.2, arrived=False, acceptance=None)
    slow = SlowlyRecovered(
        id="e1m2",
        site="site-a",
        recovered_in=None,
        held=QueueHold(queue_id="ABC", reason="skipped, still being delivered"),
    )
    stored = run_with([late.model_dump(), slow.model_dump()]).to_json()
    evidence = parse_run(stored, "test").examples[0].claims[0].evidence
    assert evidence == [late, slow]
    assert isinstance(evidence[1], SlowlyRecovered) and evidence[1].held is not None
    # The queue's words are columns of their own in the report's table.
    assert evidence[1].cells()["reason"] == "skipped, still being delivered"
    # And written again as they were read (no field lost to the base class).
    again = parse_run(stored, "test").as_json()
    assert again["examples"][0]["claims"][0]["evidence"][1]["held"]["queue_id"] == "ABC"


def test_an_unknown_or_malformed_item_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown kind of evidence 'gossip'"):
        read_evidence({"kind": "gossip", "id": "e1m1"})
    with pytest.raises(ValidationError, match="waited"):
        read_evidence({"kind": "late", "id": "e1m1", "site": "site-b", "arrived": True})


def test_a_kind_is_registered_once() -> None:
    class Twin(EvidenceItem):
        kind: Literal["late"] = "late"

    with pytest.raises(ValueError, match="registered twice"):
        evidence_kind(Twin)
