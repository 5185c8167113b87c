"""An MTA's own pacing is not a dead link's stall, and pacing never hides a stall.

``seedmta-paced`` delivers to each site in steps: after every 5 deliveries to a site it
waits 4 s, dead link or not (a model of OpenSMTPD's session cap and reconnect delay). Six
messages to a healthy site always meet one pause, so its mail waits past the 3 s bound
with a link cut, and again with every link up: the seed's claim must hold, with a warning
that names the pacing. ``seedmta-sync-paced`` has the pacing and the seed's bug: its one
delivery loop waits out the dead site's 10 s timeout first, longer than its pacing plus the
bound, and the claim must stay broken.
"""

from __future__ import annotations

import pytest

from harness.claims import Bounds, LiftedReplay, LinksUpControl, Verdict
from harness.scenario import Scenario, play

from ..conftest import StartWorld

pytestmark = pytest.mark.integration

#: Site-a's link dead from the start; one message for it, six for healthy site-b.
SIX_TO_A_HEALTHY_SITE = Scenario(
    sites=3, faults=((0, "blackhole"),), messages=(0, 1, 1, 1, 1, 1, 1), cut_after=0
)


def test_an_mta_s_own_pacing_is_a_warning_not_a_stall(start_world: StartWorld) -> None:
    world = start_world("seedmta-paced", sites=3)
    result = play(world, SIX_TO_A_HEALTHY_SITE, Bounds())
    healthy = result.claims[0]
    assert healthy.name == "healthy_sites_keep_flowing"
    assert healthy.verdict is Verdict.WARNING, healthy.summary
    assert "own pacing" in healthy.summary
    controls = [e for e in healthy.evidence if isinstance(e, LinksUpControl)]
    assert controls and controls[0].site == "site-b"
    assert controls[0].worst is not None and controls[0].worst > 3.0
    assert healthy.figures["worst_with_links_up"] > 3.0
    assert result.holds


def test_pacing_does_not_hide_a_stall_behind_the_dead_link(start_world: StartWorld) -> None:
    world = start_world("seedmta-sync-paced", sites=3)
    result = play(world, SIX_TO_A_HEALTHY_SITE, Bounds())
    healthy = result.claims[0]
    assert healthy.verdict is Verdict.BROKEN, healthy.summary
    lifted = [e for e in healthy.evidence if isinstance(e, LiftedReplay)]
    assert lifted and lifted[0].verdict == "broken", healthy.evidence
    assert not result.holds


def test_mail_on_time_with_every_link_up_keeps_the_stall_broken(start_world: StartWorld) -> None:
    world = start_world("seedmta-sync", sites=3)
    result = play(world, SIX_TO_A_HEALTHY_SITE, Bounds())
    healthy = result.claims[0]
    assert healthy.verdict is Verdict.BROKEN
    controls = [e for e in healthy.evidence if isinstance(e, LinksUpControl)]
    assert controls and controls[0].worst is not None and controls[0].worst <= 3.0
    assert not any(isinstance(e, LiftedReplay) for e in healthy.evidence)
    assert "the same sites' mail arrived within" in healthy.summary
