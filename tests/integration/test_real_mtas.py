"""Each real MTA starts chrooted in its root filesystem, relays through its links, shows its
queue, retries it when asked, and leaves nothing behind when stopped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.clock import Deadline
from harness.faults import make_fault
from harness.ledger import MessageRecord, Status
from harness.reaper import labelled_processes
from harness.sites.protocol import Behaviour
from harness.topology import Site
from harness.world import Example, World

from ..conftest import StartWorld

SHIPPED_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "mta" / "postfix-from-template.toml"
)

#: Every real MTA the harness ships an adapter for.
#: chasquid and maddy are routed by MX (they have no static routes); chasquid is submitted to
#: as its own user. maddy has no retry-now: it is not in the retry test below.
REAL_MTAS = ["postfix", "exim", "opensmtpd", "sendmail", "courier", "haraka", "chasquid"]

#: Timers the adapters read (queue runs, back-off), set far beyond the deadlines below.
SLOW_RETRIES = {"queue_interval": 60, "queue_run_delay": 60, "min_backoff": 60, "max_backoff": 60}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="real MTAs run chrooted, which needs root"),
]


@pytest.mark.parametrize("mta", REAL_MTAS)
def test_a_real_mta_relays_queues_retries_and_stops_clean(
    start_world: StartWorld, mta: str
) -> None:
    # Its own retries a minute apart: only the harness's retry-now can deliver in time below.
    world = start_world(mta, **SLOW_RETRIES)
    assert world.identity is not None and world.identity.name == mta
    assert world.identity.version[:1].isdigit()
    run_id = world.backend.run_id
    with world.example() as example:
        dead, delivered, held = _one_delivered_one_held(example)
        assert delivered.arrivals[0].site == "site-b"
        # Accepted means queued: the MTA's own queue listing shows what it cannot deliver.
        assert held.status is Status.PENDING
        assert held.rcpt in world.queued_recipients()
        # And says, in its own words, why: its queue id, and its log lines about it.
        detail = world.held_messages()[held.rcpt]
        assert detail.queue_id, detail
        if mta == "postfix":  # Postfix logs to the harness; Exim to its own files
            assert example.ledger.wait_until(
                lambda rs: detail.queue_id in (world.held_messages()[held.rcpt].mta_log or ""),
                Deadline.after(10),
            )
        # Asked to retry now once the link is back, it delivers at once. OpenSMTPD moves only
        # envelopes at rest: wait until its listing gives the failed attempt's reason.
        example.heal(dead)
        if mta == "opensmtpd":
            assert example.ledger.wait_until(
                lambda rs: world.held_messages()[held.rcpt].reason, Deadline.after(20)
            )
        assert world.retry_now()
        assert example.ledger.wait_until(lambda rs: held.settled, Deadline.after(25)), (
            world.held_messages()
        )
        assert held.status is Status.DELIVERED
    world.close()
    assert [p for p, (run, _) in labelled_processes().items() if run == run_id] == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert run_id not in mounts


@pytest.mark.parametrize("mta", [*REAL_MTAS, "maddy"])
def test_a_real_mta_bounces_a_permanent_refusal_to_the_bounce_sink(
    start_world: StartWorld, mta: str
) -> None:
    """A 5xx is settled by the MTA's own bounce arriving at the sink: a configuration that
    routed the harness's mail but not the MTA's bounces would make every bounce "lost"."""
    world = start_world(mta)
    with world.example() as example:
        world.sites["site-a"].behave(Behaviour("RCPT", code=550))
        record = example.submit(example.site(0))
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(20))
        assert record.status is Status.BOUNCED, record


def test_an_mta_described_in_a_file_relays_through_its_links(start_world: StartWorld) -> None:
    world = start_world(str(SHIPPED_TEMPLATE))
    assert world.identity is not None and world.identity.name == "postfix-from-template"
    with world.example() as example:
        record = example.submit(example.site(0))
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(20))
        assert record.arrivals[0].site == "site-a"


def test_maddy_shows_what_it_holds_and_cannot_be_asked_to_retry(start_world: StartWorld) -> None:
    """maddy 0.8.1 has no queue command: its queue's own files are read. It has no retry
    command either (its first retry is 15 minutes away): loss is then not proven."""
    world = start_world("maddy")
    assert world.plan.routing == "dns"  # by MX: it has no static routes
    with world.example() as example:
        held = _one_delivered_one_held(example)[2]
        assert example.ledger.wait_until(
            lambda rs: "connection refused" in _held_reason(world, held.rcpt), Deadline.after(20)
        ), world.held_messages()
        assert held.status is Status.PENDING
        assert world.retry_now() is None


def _one_delivered_one_held(example: Example) -> tuple[Site, MessageRecord, MessageRecord]:
    """A message to site-b, delivered; then site-a's link refuses and a message to it is
    held. Returns site-a and the two records."""
    delivered = example.submit(example.site(1))
    dead = example.site(0)
    example.apply(dead, make_fault("refuse", bound=3.0))
    held = example.submit(dead)
    assert example.ledger.wait_until(lambda rs: delivered.settled, Deadline.after(20))
    assert delivered.status is Status.DELIVERED
    return dead, delivered, held


def _held_reason(world: World, rcpt: str) -> str:
    """What the MTA's queue says of ``rcpt`` ("" while it does not list it)."""
    hold = (world.held_messages() or {}).get(rcpt)
    return hold.reason if hold is not None else ""
