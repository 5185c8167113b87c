"""The traffic really crosses Toxiproxy: a fault applied through its API changes what the
MTA sees, and healing it lets the mail through."""

from __future__ import annotations

import pytest

from harness.clock import Deadline
from harness.faults import make_fault
from harness.ledger import Status
from harness.world import World

from ..conftest import StartWorld

pytestmark = pytest.mark.integration


def queue_errors(world: World) -> list[str]:
    return [e.reason for e in world.adapter.queue(world.plan, world.backend.run)]


def wait_for_deferral(world: World, seconds: float) -> list[str]:
    """Wait for the MTA to defer a message; return the errors its queue records.

    The seed model writes its queue on each deferral; this waits on the MTA's log line for
    that deferral (an event), then reads the queue.
    """
    assert world.mta_service is not None
    world.mta_service.wait_for_line(lambda line: "deferred" in line, seconds, "a deferral")
    return queue_errors(world)


@pytest.mark.parametrize(
    ("fault", "mta_sees"),
    [
        ("refuse", ("Connection refused",)),
        # A reset lands during the greeting or before it: either way the connection is gone.
        ("reset", ("SMTPServerDisconnected", "Connection reset by peer")),
        ("blackhole", ("timed out",)),
    ],
)
def test_a_fault_through_the_api_changes_what_the_mta_sees(
    start_world: StartWorld, fault: str, mta_sees: tuple[str, ...]
) -> None:
    world = start_world(timeout=1.0)  # a short MTA timeout so the blackhole shows quickly
    with world.example() as example:
        site_a = example.site(0)
        example.apply(site_a, make_fault(fault, bound=3.0))
        record = example.submit(site_a)
        errors = wait_for_deferral(world, seconds=10)
        assert any(seen in e for e in errors for seen in mta_sees), errors
        assert record.status is Status.PENDING  # the site saw nothing
        example.heal_all()
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        assert record.status is Status.DELIVERED
        assert record.arrivals[0].site == "site-a"


def test_without_a_fault_mail_arrives_through_the_proxy(start_world: StartWorld) -> None:
    world = start_world()
    proxies = world.toxiproxy.proxies() if world.toxiproxy else {}
    # The MTA's route for each domain is the link's address, never the site's own.
    for domain, endpoint in world.plan.routes.items():
        name = domain.removesuffix(".test")
        assert proxies[name]["listen"] == str(endpoint)
        assert proxies[name]["upstream"] == str(world.sites[name].listen)
    with world.example() as example:
        record = example.submit(example.site(1))
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(10))
        assert record.arrivals[0].site == "site-b"
