"""Hypothesis strategies for outage scenarios: public, so users can write their own suites.

Every piece shrinks towards the simplest outage: two sites, one faulted link, the first fault
kind (``blackhole``), one message per site, all of the faulted site's mail first, the cut
before any submission.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from harness.faults import fault_kinds
from harness.scenario import Scenario
from harness.topology import MAX_SITES


@st.composite
def scenarios(
    draw: st.DrawFn,
    min_sites: int = 2,
    max_sites: int = MAX_SITES,
    kinds: Sequence[str] | None = None,
    max_messages_per_site: int = 3,
) -> Scenario:
    """Draw a scenario: 2-6 sites, a non-empty proper subset of links faulted (a fault kind
    each), 1..N messages per site in any order, the cut before or during submission."""
    kinds = list(kinds or fault_kinds())
    sites = draw(st.integers(min_sites, max_sites), label="sites")
    faulted = draw(
        st.sets(st.integers(0, sites - 1), min_size=1, max_size=sites - 1), label="faulted"
    )
    faults = tuple(
        (index, draw(st.sampled_from(kinds), label=f"fault on {index}"))
        for index in sorted(faulted)
    )
    per_site = [
        draw(st.integers(1, max_messages_per_site), label=f"messages to {index}")
        for index in range(sites)
    ]
    # Faulted sites first in the unshuffled order: shrinking the permutation then lands on
    # "the dead site's mail is ahead of the healthy mail", the seed's outage.
    ordered = sorted(
        (index for index in range(sites) for _ in range(per_site[index])),
        key=lambda index: (index not in faulted, index),
    )
    messages = tuple(draw(st.permutations(ordered), label="order"))
    cut_after = draw(st.integers(0, len(messages)), label="cut after")
    return Scenario(sites, faults, messages, cut_after)
