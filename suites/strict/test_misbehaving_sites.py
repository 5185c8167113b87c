"""Strict profile: a site that misbehaves at the SMTP level never stalls the others.

Written as a user would write their own outage test: a timeline (``harness.timeline``) played
with ``harness.scenario.play`` and judged by every claim. One site refuses, answers slowly,
or cuts the connection after the final dot; mail to the healthy site must keep flowing, and
once the site behaves again every accepted message is delivered or bounced. A message the
site took before cutting the connection comes twice (SMTP's at-least-once case): reported as
a duplicate, never counted as lost.
"""

from collections.abc import Callable

import pytest

from harness import Behaviour, Bounds, Judge, Misbehave, Outage, Send, World

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
    world: World, bounds: Bounds, judge: Judge, case: str
) -> None:
    sick, healthy = (site.name for site in world.remote_sites[:2])
    outage = Outage(
        2,
        (
            Misbehave(sick, CASES[case](bounds)),
            Send((sick, healthy, sick, healthy)),
        ),
        name=f"misbehaving-{case}",
    )
    judge(outage)
