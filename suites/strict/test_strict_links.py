"""Strict profile: the certification property under every registered link fault, including
those beyond the seed's (a thin link: bandwidth)."""

from hypothesis import given

from harness.faults import fault_kinds
from harness.plugin import ExampleLog
from harness.properties import Bounds
from harness.scenario import Scenario, play
from harness.strategies import scenarios
from harness.world import World


@given(scenario=scenarios(kinds=fault_kinds()))
def test_no_link_fault_stalls_healthy_sites(
    world: World,
    bounds: Bounds,
    strict_duplicates: bool,
    example_log: ExampleLog,
    scenario: Scenario,
) -> None:
    result = play(world, scenario, bounds, strict_duplicates)
    example_log.add(result)
    assert result.holds, result.explain()
