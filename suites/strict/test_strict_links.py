"""Strict profile: the certification property under every registered link fault, including
those beyond the seed's (a thin link: bandwidth)."""

from hypothesis import given
from hypothesis import strategies as st

from harness import BELOW_TCP_FAULTS, Judge, World, fault_kinds, outages

#: Every registered link and STARTTLS fault; the world adds those below TCP where it can.
LINK_FAULTS = tuple(
    k for k in fault_kinds("link") + fault_kinds("tls") if k not in BELOW_TCP_FAULTS
)


@given(data=st.data())
def test_no_link_fault_stalls_healthy_sites(
    world: World, judge: Judge, data: st.DataObject
) -> None:
    outage = data.draw(outages(kinds=world.fault_kinds(LINK_FAULTS)), "outage")
    judge(outage, steer=True)
