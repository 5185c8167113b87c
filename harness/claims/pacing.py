"""The seed's claim against the MTA's own pacing: a control with every link up.

Healthy mail can wait past the bound for reasons that have nothing to do with a dead link.
OpenSMTPD ends a session to a route after 100 messages and waits 3 to 5 s before it
connects to that route again (``max_mail_per_session``, ``discdelay_route`` and
``conndelay_route`` in its limit.c), whether another link is dead or not. So when the seed's
claim breaks, ``scenario.play`` asks what the MTA does without the faults; this module only
judges, from data:

1. **Control**: the example's mail is sent again with every link up, three copies back to
   back (so pacing by count falls inside them) and, where the MTA carried several messages
   per connection, one more than its fullest connection carried, trickled (so they keep to
   one connection). It begins as the example began: each such site as long without a
   delivery as it was then (OpenSMTPD hangs up on a route once it has no more mail for it and
   waits 3 to 5 s before it connects again, so mail that comes just after waits up to 9 s;
   seen in its dns column: 9.5 s). If the late sites' own
   mail arrived within the bound and no late site paused past it, the claim stays broken,
   with that in its evidence: the same mail is on time when no link is dead.
2. **Lifted replay**: if, with every link up, the MTA held mail to a late site past the bound
   itself, the faulted example is played again, its faults held once applied (so a stall
   lasts as long as the MTA lets it, not as long as the outage's fault did), and judged by
   pauses: no healthy site that has
   mail waiting may go longer without a delivery than the longest pause the MTA made it with
   every link up (``P``) plus the bound: the bound applied to what the dead link *adds*.
   Pauses, not latencies: a paced MTA's latencies add up behind a backlog (three pauses of 4 s
   before the fifteenth message), its pauses do not, and a dead link's stall is one long
   pause. Within that, the lateness is the MTA's own pacing: the claim holds with a warning
   naming it. Longer, it is a stall behind the dead link: broken.

What this cannot tell apart: a stall no longer than the MTA's own longest pause with every
link up plus the bound. A build with the seed's bug whose one delivery loop also pauses
(``seedmta-sync-paced``: its pauses for every site add up, 8 to 16 s under the control's
three copies) gets a warning for those examples, and fails by the others, where its stall
outlasts its pauses. The warning names the figure, so it is never silent.

The claim's own failure comes first (it is judged as always, against the plain bound); a
control can only explain a failure, never cause one. Mail refused at submission is never
explained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn, Protocol

from harness.claims.base import ClaimResult, Verdict, result
from harness.claims.evidence import EvidenceItem, evidence_kind
from harness.claims.facts import ExampleFacts
from harness.claims.healthy import (
    HealthyMailStalled,
    LateMessage,
    RefusedHealthyMail,
    any_arrived,
    is_healthy,
)
from harness.clock import Deadline, now
from harness.ledger import MessageRecord, Status

if TYPE_CHECKING:
    from harness.record import Message

#: How many copies of the example's mail the control sends, back to back in one example:
#: pacing that hangs on a count (a pause after every so many deliveries, carried across
#: examples) falls somewhere inside them, where its whole pause shows, not at an edge.
CONTROL_COPIES = 3


class ControlMessage(Protocol):
    """A message of the control as this module reads it (the run record's ``Message``)."""

    @property
    def site(self) -> str: ...

    @property
    def submitted_at(self) -> float: ...

    @property
    def latency(self) -> float | None: ...


@evidence_kind
class LinksUpControl(EvidenceItem):
    """The longest wait of mail to one site when the example's mail was replayed with every
    link up (``None``: none of it arrived)."""

    kind: Literal["with every link up"] = "with every link up"
    site: str
    worst: float | None
    #: The longest the site had mail waiting and no delivery, in the whole control.
    pause: float
    #: How long the site had gone without a delivery when the control began, as when the
    #: faulted example did (None: not recreated).
    idle: float | None = None

    def words(self) -> str:
        took = "none arrived" if self.worst is None else f"the longest took {self.worst:.2f} s"
        began = "" if self.idle is None else f", begun {self.idle:.2f} s after its last delivery"
        return (
            f"control: the example's mail sent again with every link up{began}: to "
            f"{self.site}, {took}; its longest pause {self.pause:.2f} s"
        )


@evidence_kind
class LiftedReplay(EvidenceItem):
    """The faulted example played again, its healthy sites judged by pauses against the MTA's
    own longest with every link up plus the bound."""

    kind: Literal["replayed against its own pacing"] = "replayed against its own pacing"
    bound: float
    verdict: str
    summary: str

    def words(self) -> str:
        return (
            f"played again, judged by pauses against {self.bound:g} s (its own longest with "
            f"every link up plus the bound): {self.verdict}: {self.summary}"
        )


def late_sites(broken: ClaimResult) -> list[str]:
    """The sites whose healthy mail was late in a broken seed claim."""
    return sorted({e.site for e in broken.evidence if isinstance(e, LateMessage)})


def explainable(broken: ClaimResult) -> bool:
    """Whether a control could explain ``broken``: late mail only, nothing refused."""
    refused = any(isinstance(e, RefusedHealthyMail) for e in broken.evidence)
    return bool(late_sites(broken)) and not refused


def worst_with_links_up(control: Sequence[ControlMessage], sites: Sequence[str]) -> float | None:
    """The longest arrival time of the control's mail to ``sites``."""
    waits = [m.latency for m in control if m.site in sites and m.latency is not None]
    return max(waits) if waits else None


@dataclass(frozen=True)
class ControlMail:
    """What the control sends after the example's own mail (by site name): the example's
    sends ``repeats`` times more, then, per site in ``trickle``, that many messages one at a
    time (:class:`~harness.steps.Trickle`)."""

    own: tuple[str, ...]
    repeats: int = CONTROL_COPIES - 1
    trickle: tuple[tuple[str, int], ...] = ()
    #: Per late site, how long it had gone without a delivery when the faulted example
    #: began: the control begins so too (``scenario`` primes and waits).
    idle: tuple[tuple[str, float], ...] = ()

    @property
    def extra(self) -> tuple[str, ...]:
        """The control's mail beyond the example's own first copy, by site name."""
        trickled = tuple(site for site, count in self.trickle for _ in range(count))
        return self.own * self.repeats + trickled


def control_mail(
    broken: ClaimResult,
    faulted: Sequence[Message],
    idle_before: Mapping[str, float] | None = None,
    longest_idle: float = 30.0,
) -> ControlMail:
    """The control's mail: :data:`CONTROL_COPIES` copies of the example's, and, per late
    site whose connections carried several messages in the faulted example, one more than
    the most any of them carried, trickled. An MTA that hangs up after so many and waits
    before it reconnects (OpenSMTPD: 100, then 3 to 5 s) meets its own limit in the control
    too: a trickle keeps to one connection, where a burst spreads over several and fills
    none. Such a site, if it had gone ``idle_before`` seconds without a delivery when the
    example began, up to ``longest_idle``, also starts the control as idle: an MTA that keeps
    a session open to a site has session state to recreate (OpenSMTPD hangs up on a route
    once it has no more mail for it, and waits before it connects again). An MTA that opens
    a connection per message has none, and its control starts as it comes (a priming
    example for every failing one would slow a known-bad build's search)."""
    trickle: list[tuple[str, int]] = []
    idle: list[tuple[str, float]] = []
    for site in late_sites(broken):
        carried = [a.seq for m in faulted for a in m.arrivals if a.site == site and a.seq]
        if not carried or max(carried) <= 1:
            continue
        trickle.append((site, max(carried) + 1))
        gone = (idle_before or {}).get(site)
        if gone is not None and gone <= longest_idle:
            idle.append((site, gone))
    own = tuple(m.site for m in faulted)
    return ControlMail(own, trickle=tuple(trickle), idle=tuple(idle))


def pause_before(arrived: float, submitted: float, site_arrivals: Sequence[float]) -> float:
    """How long a message that arrived at ``arrived`` waited after the later of its
    submission and the arrival before it at its site (``site_arrivals``, sorted): the
    one measure of a pause, with every link up and in the lifted replay alike."""
    before = [at for at in site_arrivals if at < arrived]
    return arrived - max([submitted, *before[-1:]])


def longest_pause(control: Sequence[ControlMessage], sites: Sequence[str]) -> float:
    """The longest a site of ``sites`` had mail waiting and got no delivery in the control
    (a site's first message: its latency)."""
    pauses = [0.0]
    for site in sites:
        arrived = [
            (m.submitted_at + m.latency, m.submitted_at)
            for m in control
            if m.site == site and m.latency is not None
        ]
        arrivals = sorted(at for at, _ in arrived)
        pauses += [pause_before(at, submitted, arrivals) for at, submitted in arrived]
    return max(pauses)


def original_mail(
    control: Sequence[ControlMessage], extra: tuple[str, ...]
) -> list[ControlMessage]:
    """The control without its ``extra`` mail (sent last, per site), so latencies are of
    the example's own mail, not of a backlog the control added."""
    dropped: set[int] = set()
    for site in set(extra):
        mine = sorted((m for m in control if m.site == site), key=lambda m: m.submitted_at)
        dropped |= {id(m) for m in mine[len(mine) - extra.count(site) :]}
    return [m for m in control if id(m) not in dropped]


def lifted_bound(
    control: Sequence[ControlMessage],
    broken: ClaimResult,
    bound: float,
    extra: tuple[str, ...] = (),
) -> float | None:
    """The pause to replay the faulted example against (the MTA's longest with every link
    up plus the bound), or ``None`` if with every link up the late sites' own mail was on
    time and no site paused past the bound (then the failure stands as it is)."""
    sites = late_sites(broken)
    worst = worst_with_links_up(original_mail(control, extra), sites)
    pause = longest_pause(control, sites)
    if (worst is None or worst <= bound) and pause <= bound:
        return None
    return pause + bound


class PausesWithin:
    """The lifted replay's judge: no healthy site with mail waiting goes ``limit`` seconds
    without a delivery while the faults are on (see the module's docstring)."""

    name = "healthy_sites_keep_flowing"
    before_heal = True

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        while True:
            windows = facts.windows()
            every = facts.ledger.records()
            healthy = [r for r in every if is_healthy(r, self.limit, windows)]
            if any(r.status is Status.REFUSED for r in healthy):
                return result(self.name, Verdict.BROKEN, "healthy mail refused at submission")
            past = {
                site: _longest_pause(site, healthy, every) for site in {r.site for r in healthy}
            }
            if past and max(past.values()) > self.limit:
                site, pause = max(past.items(), key=lambda item: item[1])
                return result(
                    self.name,
                    Verdict.BROKEN,
                    f"{site} had mail waiting and no delivery for {pause:.2f} s, past "
                    f"{self.limit:.2f} s",
                )
            waiting = [r for r in healthy if not r.arrivals]
            if not waiting:
                if not healthy:
                    return result(self.name, Verdict.NOT_JUDGED, "no healthy mail in flight")
                return result(
                    self.name,
                    Verdict.HOLDS,
                    f"no healthy site with mail waiting went {self.limit:.2f} s without a "
                    f"delivery ({len(healthy)} message(s))",
                )
            idle = {site: _idle_since(site, waiting, every) for site in {r.site for r in waiting}}
            site, since = min(idle.items(), key=lambda item: item[1])
            if now() - since > self.limit:
                return result(
                    self.name,
                    Verdict.BROKEN,
                    f"{site} had mail waiting and no delivery for {now() - since:.2f} s, past "
                    f"{self.limit:.2f} s",
                )
            ids = {r.id for r in waiting}
            facts.ledger.wait_until(any_arrived(ids), Deadline(since + self.limit))

    def fail(self, explanation: str) -> NoReturn:
        raise HealthyMailStalled(explanation)


def _longest_pause(site: str, healthy: list[MessageRecord], every: list[MessageRecord]) -> float:
    """The longest ``site`` made a healthy message that arrived wait (:func:`pause_before`)."""
    arrivals = sorted(a.at for r in every for a in r.arrivals if a.site == site)
    pauses = [0.0]
    for record in healthy:
        first = record.first_arrival
        if record.site == site and first is not None:
            pauses.append(pause_before(first.at, record.submitted_at, arrivals))
    return max(pauses)


def _idle_since(site: str, waiting: list[MessageRecord], every: list[MessageRecord]) -> float:
    """Since when ``site`` has had mail waiting and no delivery."""
    oldest = min(r.submitted_at for r in waiting if r.site == site)
    arrivals = [a.at for r in every for a in r.arrivals if a.site == site]
    return max([oldest, *arrivals])


def against_control(
    broken: ClaimResult,
    control: Sequence[ControlMessage],
    bound: float,
    lifted: ClaimResult | None = None,
    lifted_to: float | None = None,
    mail: ControlMail | None = None,
) -> ClaimResult:
    """The seed claim's verdict once the control (``mail``, see :func:`control_mail`) and
    the lifted replay's verdict on its healthy mail, if one was played, against
    ``lifted_to``, are known."""
    sites = late_sites(broken)
    own = original_mail(control, mail.extra if mail is not None else ())
    idle = dict(mail.idle) if mail is not None else {}
    seen: list[EvidenceItem] = [
        LinksUpControl(
            site=s,
            worst=worst_with_links_up(own, [s]),
            pause=longest_pause(control, [s]),
            idle=idle.get(s),
        )
        for s in sites
    ]
    if lifted is not None and lifted_to is not None:
        seen.append(
            LiftedReplay(
                bound=round(lifted_to, 3), verdict=lifted.verdict.value, summary=lifted.summary
            )
        )
    if lifted is None or lifted_to is None or lifted.verdict is not Verdict.HOLDS:
        return result(
            broken.name,
            Verdict.BROKEN,
            broken.summary + _why_a_stall(own, control, sites, bound, lifted_to),
            [*broken.evidence, *seen],
            broken.figures,
        )
    pause = lifted_to - bound
    late = [e for e in broken.evidence if isinstance(e, LateMessage)]
    worst_up = worst_with_links_up(own, sites) or 0.0
    return result(
        broken.name,
        Verdict.WARNING,
        f"{len(late)} healthy message(s) waited past the {bound:g} s bound, but with every "
        f"link up the MTA held mail to the same site(s) too (worst {worst_up:.2f} s, pauses "
        f"up to {pause:.2f} s), and played again the example paused no longer than that "
        f"plus the bound ({lifted_to:.2f} s): the MTA's own pacing, not a stall behind the "
        "dead link",
        [*broken.evidence, *seen],
        broken.figures | {"worst_with_links_up": worst_up, "pause_with_links_up": pause},
    )


def _why_a_stall(
    own: Sequence[ControlMessage],
    control: Sequence[ControlMessage],
    sites: Sequence[str],
    bound: float,
    lifted_to: float | None,
) -> str:
    if lifted_to is not None:
        return (
            f"; with every link up the MTA paused that mail up to {lifted_to - bound:.2f} s "
            f"itself, and played again the example paused longer than that plus the bound "
            f"({lifted_to:.2f} s)"
        )
    worst = worst_with_links_up(own, sites)
    if worst is None:
        return ""
    return (
        f"; sent again with every link up ({CONTROL_COPIES} copies), the same sites' mail "
        f"arrived within {worst:.2f} s, with no pause past {longest_pause(control, sites):.2f} s"
    )
