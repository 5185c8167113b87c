"""Strict profile: a site that misbehaves at the SMTP level never stalls the others.

Written with the plugin's fixtures, as a user would write their own outage test: one site
refuses, answers slowly, or cuts the connection after the final dot; mail to the healthy site
must keep flowing, and once the site behaves again every accepted message is delivered or
bounced. A message the site took before cutting the connection comes twice (SMTP's
at-least-once case): reported as a duplicate, never counted as lost.
"""

from collections.abc import Callable

import pytest

from harness.properties import (
    Bounds,
    healthy_sites_keep_flowing,
    no_duplicates,
    recovery_without_loss,
)
from harness.sites.protocol import Behaviour
from harness.world import Example, World

#: How the sick site behaves, given the bounds (a slow reply takes twice the delivery bound).
CASES: dict[str, Callable[[Bounds], Behaviour]] = {
    "tempfail-rcpt": lambda b: Behaviour("RCPT", code=451),
    "tempfail-data": lambda b: Behaviour("DATA", code=451),
    "reject-rcpt": lambda b: Behaviour("RCPT", code=550),
    "slow-mail": lambda b: Behaviour("MAIL", delay=2 * b.delivery),
    "slow-mid-data": lambda b: Behaviour("DATA", delay=2 * b.delivery),
    "drop-after-dot": lambda b: Behaviour("DATA", drop=True),
}


@pytest.mark.parametrize("case", CASES)
def test_a_misbehaving_site_never_stalls_healthy_sites(
    world: World, example: Example, bounds: Bounds, strict_duplicates: bool, case: str
) -> None:
    behaviour = CASES[case](bounds)
    sick, healthy = example.site(0), example.site(1)
    example.misbehave(sick, behaviour)
    for site in (sick, healthy, sick, healthy):
        example.submit(site)

    flowing = healthy_sites_keep_flowing(example.ledger, {healthy.name}, bounds.delivery)
    assert flowing.holds, f"{flowing.summary} {flowing.evidence}"

    example.tame(sick)
    recovered = recovery_without_loss(example.ledger, bounds.recovery, world.held_messages)
    assert recovered.holds, f"{recovered.summary} {recovered.evidence}"
    once = no_duplicates(example.ledger.records(), example.faulted_windows, strict_duplicates)
    assert once.holds, f"{once.summary} {once.evidence}"
