"""DNS layer: lookups of one domain failing (never answered, SERVFAIL, answered too late, or
NXDOMAIN, after which a correct MTA bounces that domain's mail) never stall delivery to
healthy sites, and no mail is lost.

The certification suite draws these faults among all the others where the MTA routes by MX
(``--routing dns``); this suite draws them alone, so a build that stalls behind a lookup is
shown with a DNS counterexample (``certify --faults dns --routing dns``).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import Judge, World, fault_kinds, outages


@given(data=st.data())
def test_one_failing_domain_lookup_never_stalls_healthy_sites(
    world: World, judge: Judge, data: st.DataObject
) -> None:
    if world.plan.routing != "dns":
        pytest.skip("the MTA is statically routed: it makes no DNS lookups to fault")
    judge(data.draw(outages(kinds=fault_kinds("dns")), "outage"), steer=True)
