"""Certification suite: one dead link never stalls delivery to healthy sites, no mail is lost.

Hypothesis draws outages (how many sites, which links fail and how, what mail is sent in what
order, when the cut happens) and every example is judged by all four properties. The faults
are the seed's link faults, plus those below TCP (SYN drop, loss, one-way) where the backend
gives the run a network namespace of its own (docker).
"""

from hypothesis import given
from hypothesis import strategies as st

from harness.faults import CERTIFICATION_FAULTS
from harness.plugin import ExampleLog
from harness.properties import Bounds
from harness.scenario import play
from harness.strategies import scenarios
from harness.world import World


@given(data=st.data())
def test_one_dead_link_never_stalls_healthy_sites(
    world: World,
    bounds: Bounds,
    strict_duplicates: bool,
    example_log: ExampleLog,
    data: st.DataObject,
) -> None:
    scenario = data.draw(scenarios(kinds=world.fault_kinds(CERTIFICATION_FAULTS)), "scenario")
    result = play(world, scenario, bounds, strict_duplicates)
    example_log.add(result)
    assert result.holds, result.explain()
