"""Two runs share a machine: each holds its own addresses and sees only its own traffic."""

from __future__ import annotations

import pytest

from harness.clock import Deadline

from ..conftest import StartWorld

pytestmark = pytest.mark.integration


def test_two_worlds_at_once_hold_different_addresses_and_their_own_mail(
    start_world: StartWorld,
) -> None:
    first, second = start_world(), start_world()
    assert first.backend.addresses.slot != second.backend.addresses.slot
    assert first.plan.listen != second.plan.listen
    with first.example() as one, second.example() as two:
        sent_one = [one.submit(one.site(0)) for _ in range(3)]
        sent_two = [two.submit(two.site(0)) for _ in range(3)]
        for example in (one, two):
            settled = example.ledger.wait_until(
                lambda rs: all(r.settled for r in rs), Deadline.after(10)
            )
            assert settled
        assert all(len(r.arrivals) == 1 for r in sent_one + sent_two)
        # Each world's sites saw only its own messages: nothing unexplained arrived.
        assert one.ledger.strays() == [] and two.ledger.strays() == []
