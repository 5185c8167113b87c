"""Certification suite: a site that misbehaves at the SMTP level never stalls the others.

Written with the plugin's fixtures, as a user would write their own outage test: one site
refuses or answers slowly at a chosen stage; mail to the healthy site must keep flowing, and
once the site behaves again every accepted message is delivered or bounced.
"""

import pytest

from harness.properties import Bounds, healthy_sites_keep_flowing, recovery_without_loss
from harness.sites.protocol import Behaviour
from harness.world import Example, World

SLOW = "slow"  # stands for "delay each reply at this stage by twice the bound"


@pytest.mark.parametrize(
    ("stage", "code"),
    [("RCPT", 451), ("DATA", 451), ("RCPT", 550), ("MAIL", SLOW), ("DATA", SLOW)],
    ids=["tempfail-rcpt", "tempfail-data", "reject-rcpt", "slow-mail", "slow-data"],
)
def test_a_misbehaving_site_never_stalls_healthy_sites(
    world: World, example: Example, bounds: Bounds, stage: str, code: int | str
) -> None:
    sick, healthy = example.site(0), example.site(1)
    if code == SLOW:
        behaviour = Behaviour(stage, delay=2 * bounds.delivery)
    else:
        assert isinstance(code, int)
        behaviour = Behaviour(stage, code=code)
    world.sites[sick.name].behave(behaviour)
    for site in (sick, healthy, sick, healthy):
        example.submit(site)

    flowing = healthy_sites_keep_flowing(example.ledger, {healthy.name}, bounds.delivery)
    assert flowing.holds, flowing.summary + f" {flowing.evidence}"

    world.sites[sick.name].clear()
    recovered = recovery_without_loss(example.ledger, bounds.recovery, world.queued_recipients)
    assert recovered.holds, recovered.summary + f" {recovered.evidence}"
