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
from harness.scenario import Scenario, play
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


#: A sender that batches: 20 messages in one SMTP session, the link to site-a dead from the
#: start, the first ten for healthy sites, then site-a's mail interleaved with healthy mail.
#: MTAs that treat the tail of a long session differently (Exim queues messages past the
#: 10th for a queue runner) meet the dead site in the middle of healthy mail here.
LONG_SESSION = Scenario(
    sites=6,
    faults=((0, "blackhole"),),
    messages=(1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5),
    cut_after=0,
)


def test_a_long_session_keeps_healthy_mail_flowing(
    world: World, bounds: Bounds, strict_duplicates: bool, example_log: ExampleLog
) -> None:
    result = play(world, LONG_SESSION, bounds, strict_duplicates)
    example_log.add(result)
    assert result.holds, result.explain()
