"""TLS layer: one site's STARTTLS failing (a stalled or slow handshake, a reset mid-handshake,
a bad certificate) never stalls delivery to healthy sites, and no mail is lost.

The certification suite draws these faults among all the others, and shrinks towards the
simplest (a blackhole); this suite draws them alone, so a build that stalls behind a TLS
handshake is shown with a TLS counterexample (``certify --faults tls``).
"""

from hypothesis import given
from hypothesis import strategies as st

from harness import Judge, fault_kinds, outages


@given(data=st.data())
def test_one_failing_starttls_never_stalls_healthy_sites(judge: Judge, data: st.DataObject) -> None:
    judge(data.draw(outages(kinds=fault_kinds("tls")), "outage"), steer=True)
