"""Certification suite: one dead link never stalls delivery to healthy sites, no mail is lost.

Hypothesis draws outages (how many sites, which links fail and how, what mail is sent in what
order, when the cut happens) and every example is judged by all four properties.
"""

from hypothesis import given

from harness.faults import CERTIFICATION_FAULTS
from harness.plugin import ExampleLog
from harness.properties import Bounds
from harness.scenario import Scenario, play
from harness.strategies import scenarios
from harness.world import World


@given(scenario=scenarios(kinds=CERTIFICATION_FAULTS))
def test_one_dead_link_never_stalls_healthy_sites(
    world: World,
    bounds: Bounds,
    strict_duplicates: bool,
    example_log: ExampleLog,
    scenario: Scenario,
) -> None:
    result = play(world, scenario, bounds, strict_duplicates)
    example_log.add(result)
    assert result.holds, result.explain()
