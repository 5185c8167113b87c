"""Certification suite: one dead link never stalls delivery to healthy sites, no mail is lost.

Hypothesis draws outages (how many sites, which links fail, how and when, heal and fail
again; bursts of mail over several SMTP sessions at once) and every example is judged by
every claim, each on its own: a broken claim raises its own exception, so Hypothesis shrinks
each kind of failure apart. The search is steered towards stalls (``harness.strategies.steer``).
The faults are the seed's link faults, then the sites' STARTTLS faults (stall, slow, abort,
bad certificate), plus those below TCP (SYN drop, loss, one-way) where the backend gives the
run a network namespace of its own (docker), and per-domain DNS faults (timeout, SERVFAIL,
slow, NXDOMAIN) where the MTA finds the sites by MX lookup (``--routing dns``).
"""

from hypothesis import given
from hypothesis import strategies as st

from harness import CERTIFICATION_FAULTS, Judge, Scenario, World, outages


@given(data=st.data())
def test_one_dead_link_never_stalls_healthy_sites(
    world: World, judge: Judge, data: st.DataObject
) -> None:
    outage = data.draw(outages(kinds=world.fault_kinds(CERTIFICATION_FAULTS)), "outage")
    judge(outage, steer=True)


#: A sender that batches: 20 messages in one SMTP session, the link to site-a dead from the
#: start, the first ten for healthy sites, then site-a's mail interleaved with healthy mail.
#: Kept as a readable regression of Exim's per-session queueing; the drawn search above
#: finds such builds on its own (``bench/search_power.py``).
LONG_SESSION = Scenario(
    sites=6,
    faults=((0, "blackhole"),),
    messages=(1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5),
    cut_after=0,
)


def test_a_long_session_keeps_healthy_mail_flowing(judge: Judge) -> None:
    judge(LONG_SESSION)
