"""Unit tests of the properties on hand-made ledgers: each can pass and each can fail."""

from __future__ import annotations

import pytest

from harness.clock import now
from harness.ledger import Ledger
from harness.properties import (
    Bounds,
    healthy_sites_keep_flowing,
    no_duplicates,
    no_misdelivery,
    recovery_without_loss,
)


def arrive(ledger: Ledger, rcpt: str, site: str, t: float, connection: str = "c") -> None:
    ledger.on_site_event(
        {
            "event": "message",
            "site": site,
            "mail_from": "h@bounces.test",
            "rcpts": [rcpt],
            "harness_ids": [],
            "t": t,
            "connection": connection,
        }
    )


def accepted(ledger: Ledger, site: str, at: float) -> str:
    record = ledger.open(site, f"{site}.test", at)
    ledger.accepted(record.id, at)
    return record.rcpt


def test_healthy_sites_pass_when_every_healthy_message_arrived_in_time() -> None:
    ledger = Ledger("e1")
    t = now()
    arrive(ledger, accepted(ledger, "site-b", t), "site-b", t + 0.01)
    accepted(ledger, "site-a", t)  # to the faulted site: not judged by (a)
    result = healthy_sites_keep_flowing(ledger, {"site-b"}, bound=5.0)
    assert result.holds, result.summary


def test_healthy_sites_fail_as_soon_as_a_message_passes_its_bound() -> None:
    ledger = Ledger("e1")
    accepted(ledger, "site-b", now())
    result = healthy_sites_keep_flowing(ledger, {"site-b"}, bound=0.05)
    assert not result.holds
    assert result.evidence[0]["id"] == "e1m1" and result.evidence[0]["arrived"] is False
    assert result.evidence[0]["waited"] >= 0.05


def test_a_late_arrival_fails_even_if_it_arrived() -> None:
    ledger = Ledger("e1")
    arrive(ledger, accepted(ledger, "site-b", 100.0), "site-b", 110.0)
    result = healthy_sites_keep_flowing(ledger, {"site-b"}, bound=3.0)
    assert not result.holds and result.evidence[0]["waited"] == 10.0


def test_a_healthy_message_refused_at_submission_fails() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-b", "site-b.test", now())
    ledger.refused(record.id, "451 try later")
    result = healthy_sites_keep_flowing(ledger, {"site-b"}, bound=3.0)
    assert not result.holds and "refused" in result.summary


def test_recovery_tells_still_queued_from_lost() -> None:
    ledger = Ledger("e1")
    queued = accepted(ledger, "site-a", now())
    accepted(ledger, "site-a", now())
    result = recovery_without_loss(ledger, 0.01, held=lambda: {queued: {}})
    assert not result.holds
    assert [e["state"] for e in result.evidence] == ["still queued", "lost"]


def test_recovery_evidence_carries_what_the_mta_says_of_a_held_message() -> None:
    ledger = Ledger("e1")
    queued = accepted(ledger, "site-a", now())
    result = recovery_without_loss(
        ledger,
        0.01,
        held=lambda: {queued: {"queue_id": "ABC123", "reason": f"{queued}: deferred"}},
    )
    (item,) = result.evidence
    assert item["queue_id"] == "ABC123" and item["reason"] == f"{queued}: deferred"


def test_recovery_holds_when_everything_settled() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", now())
    arrive(ledger, rcpt, "site-a", now())
    result = recovery_without_loss(ledger, 1.0, held=dict)
    assert result.holds, result.summary


def test_misdelivery_and_duplicates_are_caught_separately() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 0.0)
    arrive(ledger, rcpt, "site-a", 1.0, "1@x")
    assert no_misdelivery(ledger.records()).holds
    assert no_duplicates(ledger.records()).holds
    arrive(ledger, rcpt, "site-b", 2.0, "2@x")
    wrong = no_misdelivery(ledger.records())
    twice = no_duplicates(ledger.records())
    assert not wrong.holds and wrong.evidence == [
        {"id": "e1m1", "addressed_to": "site-a", "arrived_at": "site-b"}
    ]
    assert not twice.holds and twice.evidence[0]["copies"] == 2


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Bounds(delivery=0)


def test_a_duplicate_after_a_fault_cut_the_link_is_at_least_once_not_a_failure() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 0.0)
    arrive(ledger, rcpt, "site-a", 1.0, "1@x")
    arrive(ledger, rcpt, "site-a", 3.0, "2@x")
    cut_between = no_duplicates(ledger.records(), lambda site: [(1.5, 2.0)])
    assert cut_between.holds and "at-least-once" in cut_between.summary
    never_cut = no_duplicates(ledger.records(), lambda site: [(5.0, 6.0)])
    assert not never_cut.holds
    strict = no_duplicates(ledger.records(), lambda site: [(1.5, 2.0)], strict=True)
    assert not strict.holds
