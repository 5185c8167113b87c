"""The seed model: bounces on 5xx, defers on 4xx, and loses nothing across a restart."""

from __future__ import annotations

import pytest

from harness.clock import Deadline
from harness.faults import make_fault
from harness.ledger import Status
from harness.sites.protocol import Behaviour

from ..conftest import StartWorld

pytestmark = pytest.mark.integration


def test_a_5xx_at_the_site_becomes_a_bounce_in_the_ledger(start_world: StartWorld) -> None:
    world = start_world()
    with world.example() as example:
        world.sites["site-a"].behave(Behaviour("RCPT", code=550))
        record = example.submit(example.site(0))
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        assert record.status is Status.BOUNCED


def test_a_4xx_defers_and_the_message_arrives_once_the_site_recovers(
    start_world: StartWorld,
) -> None:
    world = start_world()
    with world.example() as example:
        site = world.sites["site-b"]
        site.behave(Behaviour("DATA", code=451))
        record = example.submit(example.site(1))
        assert world.mta_service is not None
        world.mta_service.wait_for_line(lambda line: "deferred" in line, 10, "a deferral")
        assert record.status is Status.PENDING
        site.clear()
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        assert record.status is Status.DELIVERED and len(record.arrivals) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_queued_mail_survives_a_restart(start_world: StartWorld, mode: str) -> None:
    world = start_world(f"seedmta-{mode}")
    with world.example() as example:
        site = example.site(0)
        example.apply(site, make_fault("refuse", bound=3.0))
        record = example.submit(site)
        assert record.status is Status.PENDING
        world.restart_mta(purge=False)
        assert world.queued_recipients() == {record.rcpt}
        example.heal_all()
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        assert record.status is Status.DELIVERED


def test_a_site_dropping_after_the_final_dot_gets_the_message_twice(
    start_world: StartWorld,
) -> None:
    from harness.claims import Bounds, ExampleFacts
    from harness.claims.duplicates import NoDuplicates

    world = start_world()
    with world.example() as example:
        site = example.site(0)
        example.misbehave(site, Behaviour("DATA", drop=True))
        record = example.submit(site)
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        example.tame(site)
        assert example.ledger.wait_until(lambda rs: len(rs[0].arrivals) >= 2, Deadline.after(10)), (
            "the MTA should retry a message whose 250 it never saw"
        )
        seen = ExampleFacts(example.ledger, Bounds(), example.fault_windows)
        lenient = NoDuplicates().judge(seen)
        seen.strict_duplicates = True
        strict = NoDuplicates().judge(seen)
        assert lenient.holds and "at-least-once" in lenient.summary
        assert not strict.holds
        assert record.status is Status.DELIVERED
