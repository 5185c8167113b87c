"""Hypothesis strategies for outages, and how the search is steered: public, so users can
write their own suites.

:func:`outages` draws the certification suite's outages (bursts, concurrent sessions, faults
that come and go); :func:`scenarios` the compact, older form (one cut, a few messages).
:func:`steer` points Hypothesis at stalls (``hypothesis.target``).

Every piece shrinks towards the simplest outage: two sites, one faulted link, the first fault
kind (``blackhole``), one message per site, all of the faulted site's mail first, the cut
before any submission.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis import target

from harness.faults import fault_kinds
from harness.scenario import ExampleResult, Scenario
from harness.timeline import MAX_SESSIONS, Cut, Heal, Outage, Send, Step
from harness.topology import MAX_SITES, remote_sites


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


#: Sizes of a latency fault's delay the search may draw, in seconds (None: the bound).
LATENCY_SECONDS = (None, 0.2, 1.0, 5.0, 12.0)
#: Pauses the search may put between phases, in seconds: long enough for an MTA to start a
#: retry, a timeout or a queue run in between.
PAUSES = (0.0, 0.5, 1.0, 2.0)


@st.composite
def _faults(draw: st.DrawFn, kinds: Sequence[str]) -> tuple[str, float | None]:
    """A fault kind and, for latency alone, its size: no choice is drawn that the outage
    does not use, so shrinking spends no example on one."""
    kind = draw(st.sampled_from(kinds), label="fault")
    if kind != "latency":
        return kind, None
    return kind, draw(st.sampled_from(LATENCY_SECONDS), label="latency")


@st.composite
def outages(
    draw: st.DrawFn,
    kinds: Sequence[str] | None = None,
    max_sites: int = MAX_SITES,
    max_burst: int = 10,
    max_phases: int = 3,
    max_sessions: int = MAX_SESSIONS,
) -> Outage:
    """Draw an outage as a timeline, in phases. Each phase changes some sick sites' links
    (cut with a drawn kind and size, or heal), then sends bursts of up to ``max_burst``
    messages per site over up to ``max_sessions`` concurrent SMTP sessions, then may pause.
    Faults come and go: a link can be cut, healed and cut again, several links at different
    moments.

    The topology is what the outage uses (the highest site it names, plus a healthy one if
    every site it names is sick), so shrinking a site's index shrinks the topology with it:
    everything shrinks towards the seed's outage, the link to site-a blackholed, one message
    for site-a then one for site-b, one session, one phase.
    """
    kinds = list(kinds or fault_kinds())
    names = [site.name for site in remote_sites(max_sites)]
    fault = _faults(kinds)
    # Each sick site with its first fault, drawn together, so shrinking one sick site away
    # takes its fault with it.
    sick_faults = draw(
        st.lists(
            st.tuples(st.integers(0, max_sites - 1), fault),
            min_size=1,
            max_size=max_sites - 1,
            unique_by=lambda pair: pair[0],
        ),
        label="sick sites and their faults",
    )
    sick = [index for index, _ in sick_faults]
    sessions = draw(st.integers(1, max_sessions), label="sessions")
    phases = draw(st.integers(1, max_phases), label="phases")
    # Sick sites first: index 0 is the first dead link, index 1 the first healthy site when
    # one link is sick, so mail for the dead link ahead of healthy mail is the simplest.
    order = sick + [i for i in range(max_sites) if i not in sick]
    steps: list[Step] = []
    used: set[int] = set(sick)
    faulted: set[int] = set()
    at = 0.0
    due: float | None = None  # a pause: the next step waits until then

    def add(step: Step) -> None:
        nonlocal due
        steps.append(step.timed(due) if due else step)
        due = None

    def cut(index: int, kind: str, seconds: float | None) -> None:
        add(Cut(names[index], kind, seconds=seconds))
        faulted.add(index)

    for phase in range(phases):
        if phase == 0:
            for index, (kind, seconds) in sick_faults:  # every sick link, before any mail
                cut(index, kind, seconds)
        else:
            # Faults come and go: some sick links heal, or fail again with a new fault.
            changes = draw(
                st.lists(st.sampled_from(sick), unique=True, max_size=len(sick)),
                label=f"changes {phase}",
            )
            for index in changes:
                if index in faulted:
                    add(Heal(names[index]))
                    faulted.discard(index)
                else:
                    cut(index, *draw(fault, label="fault"))
        bursts = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(order), st.integers(1, max_burst), st.integers(0, sessions - 1)
                ),
                min_size=1 if phase == 0 else 0,
                max_size=max_sites,
            ),
            label=f"bursts {phase}",
        )
        if phase == 0 and all(index in sick for index, _, _ in bursts):
            # Healthy mail in flight while a link is down, or the seed's claim judges nothing:
            # one message for the first healthy site (shrinking keeps it, as a minimal
            # counterexample needs it anyway).
            bursts.append((order[len(sick)], 1, 0))
        for index, count, session in bursts:
            used.add(index)
            add(Send((names[index],) * count, session=session))
        if phase < phases - 1:
            pause = draw(st.sampled_from(PAUSES), label="pause")
            if pause:
                at += pause
                due = at
    sites = max(used) + 1
    if set(range(sites)) <= set(sick):
        sites += 1  # a healthy site, even if no mail goes there
    return Outage(max(sites, 2), tuple(steps), name="drawn")


def steer(result: ExampleResult) -> None:
    """Steer the search towards stalls: the worst healthy latency against the bound, the
    mail sent into sick links (what fills a delivery pool) and the longest the MTA took to
    accept a message (a stall moved into submission). Call once per example."""
    target(result.figures.get("worst_healthy_over_bound", 0.0), label="worst healthy / bound")
    target(result.figures.get("mail_to_sick", 0.0), label="mail to sick links")
    target(result.figures.get("worst_acceptance", 0.0), label="worst acceptance")
