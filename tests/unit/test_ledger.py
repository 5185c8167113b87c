"""Unit tests of the ledger: every message is accounted for, and waiting is event-driven."""

from __future__ import annotations

import threading

from harness.clock import Deadline, now
from harness.ledger import Ledger, Status


def delivery(site: str, *rcpts: str, t: float = 1.0, connection: str = "1@peer") -> dict:
    return {
        "event": "message",
        "site": site,
        "mail_from": "harness@bounces.test",
        "rcpts": list(rcpts),
        "harness_ids": [],
        "t": t,
        "connection": connection,
    }


def test_a_message_moves_from_pending_to_delivered() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-a", "site-a.test", at=0.0)
    assert record.id == "e1m1" and record.rcpt == "e1m1@site-a.test"
    assert record.status is Status.PENDING
    ledger.accepted(record.id, at=0.5)
    assert record.status is Status.PENDING and not record.settled
    ledger.on_site_event(delivery("site-a", record.rcpt, t=2.0))
    assert record.status is Status.DELIVERED and record.settled
    # Timed from the start of its submission, not from the MTA's 250: holding the answer
    # is stalling the message too.
    assert record.latency() == 2.0 and record.acceptance() == 0.5


def test_refused_and_bounced_messages_stay_on_the_books() -> None:
    ledger = Ledger("e1")
    refused = ledger.open("site-a", "site-a.test", at=0.0)
    ledger.refused(refused.id, "550 no")
    bounced = ledger.open("site-b", "site-b.test", at=0.0)
    ledger.accepted(bounced.id, at=0.1)
    dsn = {
        "event": "message",
        "site": "bounces",
        "mail_from": "",
        "rcpts": ["harness@x"],
        "harness_ids": [bounced.id],
        "t": 1.0,
    }
    ledger.on_site_event(dsn)
    assert [r.status for r in ledger.records()] == [Status.REFUSED, Status.BOUNCED]
    assert ledger.counts() == {
        "refused": 1,
        "pending": 0,
        "delivered": 0,
        "bounced": 1,
        "strays": 0,
    }


def test_unknown_deliveries_are_kept_as_strays_not_dropped() -> None:
    ledger = Ledger("e2")
    ledger.on_site_event(delivery("site-a", "e1m1@site-a.test"))
    ledger.on_site_event(
        {
            "event": "message",
            "site": "bounces",
            "mail_from": "",
            "rcpts": ["x"],
            "harness_ids": ["nobody"],
            "t": 1.0,
        }
    )
    assert len(ledger.strays()) == 2
    assert ledger.records() == []


def test_duplicates_and_wrong_sites_are_recorded_per_arrival() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-a", "site-a.test", at=0.0)
    ledger.accepted(record.id, 0.0)
    ledger.on_site_event(delivery("site-a", record.rcpt, t=1.0, connection="1@p"))
    ledger.on_site_event(delivery("site-b", record.rcpt, t=2.0, connection="2@p"))
    assert [(a.site, a.connection) for a in record.arrivals] == [
        ("site-a", "1@p"),
        ("site-b", "2@p"),
    ]


def test_wait_until_wakes_on_a_booking_from_another_thread() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-a", "site-a.test", at=0.0)
    ledger.accepted(record.id, 0.0)
    timer = threading.Timer(
        0.05, ledger.on_site_event, args=(delivery("site-a", record.rcpt, t=now()),)
    )
    timer.start()
    try:
        arrived = ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(30))
    finally:
        timer.join()
    assert arrived


def test_wait_until_gives_up_at_the_deadline() -> None:
    ledger = Ledger("e1")
    ledger.open("site-a", "site-a.test", at=0.0)
    assert not ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(0.01))
