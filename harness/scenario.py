"""A drawn scenario (what Hypothesis varies), and :func:`play`, which runs any outage.

:class:`Scenario` is the compact form the property suites draw and shrink; it becomes an
:class:`~harness.timeline.Outage` (a timeline) to be played, the same form scenario files
take, so a shrunk counterexample can be written out as a file and replayed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from harness import interrupts
from harness.claims import (
    Bounds,
    Claim,
    ClaimBroken,
    ClaimResult,
    ExampleFacts,
    Retry,
    Settlement,
    Verdict,
    default_claims,
)
from harness.claims.healthy import HealthySitesKeepFlowing, LateMessage
from harness.claims.pacing import (
    ControlMail,
    PausesWithin,
    against_control,
    control_mail,
    explainable,
    lifted_bound,
)
from harness.clock import Deadline, now
from harness.errors import HarnessError
from harness.faults import fault_kinds
from harness.ledger import MessageRecord, Status
from harness.record import (
    Arrival,
    BoundsRecord,
    Counterexample,
    FaultEvent,
    HistoryEvent,
    Message,
    QueueSnapshot,
    ScenarioShape,
)
from harness.record import Example as ExampleRecord
from harness.record import Settlement as SettlementRecord
from harness.steps import Cut, Send, Step, Trickle
from harness.timeline import Outage
from harness.topology import MAX_SITES, remote_sites
from harness.world import Example, World


@dataclass(frozen=True)
class Scenario:
    """One test case of the certification property.

    ``messages`` lists the site index of each message in submission order; the faults are
    applied after ``cut_after`` messages were submitted (0: before any).
    """

    sites: int
    faults: tuple[tuple[int, str], ...]
    messages: tuple[int, ...]
    cut_after: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.sites <= MAX_SITES:
            raise ValueError(f"sites must be 1..{MAX_SITES}, not {self.sites}")
        known = fault_kinds()
        for index, kind in self.faults:
            if not 0 <= index < self.sites:
                raise ValueError(f"fault on site {index}, but there are {self.sites} sites")
            if kind not in known:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(known)}")
        for index in self.messages:
            if not 0 <= index < self.sites:
                raise ValueError(f"message to site {index}, but there are {self.sites} sites")
        if not 0 <= self.cut_after <= len(self.messages):
            raise ValueError(f"cut_after must be 0..{len(self.messages)}")
        # Else every example is a pass with nothing judged: no fault, or no healthy mail.
        if not self.faults:
            raise ValueError("a scenario faults at least one link")
        if len(self.faulted) >= self.sites:
            raise ValueError(f"every one of the {self.sites} sites is faulted: leave one healthy")
        if not set(self.messages) - self.faulted:
            raise ValueError("no message goes to a healthy site: there is nothing to judge")

    @property
    def faulted(self) -> frozenset[int]:
        return frozenset(index for index, _ in self.faults)

    def describe(self) -> str:
        """The scenario in words, as a failure report prints it."""
        names = [s.name for s in remote_sites(self.sites)]
        faults = "; ".join(f"link to {names[i]}: {kind}" for i, kind in self.faults)
        when = (
            "before any message was submitted"
            if self.cut_after == 0
            else f"after {self.cut_after} of {len(self.messages)} messages were submitted"
        )
        order = ", ".join(names[i] for i in self.messages)
        return (
            f"{self.sites} sites ({', '.join(names)}); faults ({faults}) applied {when}; "
            f"messages submitted in order: {order}"
        )

    def to_outage(self, name: str = "drawn") -> Outage:
        """The same example as a timeline: send, cut, send the rest (healed at the end)."""
        names = [s.name for s in remote_sites(self.sites)]
        steps: list[Step] = []
        before, after = self.messages[: self.cut_after], self.messages[self.cut_after :]
        if before:
            steps.append(Send(tuple(names[i] for i in before)))
        steps += [Cut(names[i], kind) for i, kind in self.faults]
        if after:
            steps.append(Send(tuple(names[i] for i in after)))
        return Outage(self.sites, tuple(steps), name=name, description=self.describe())


class MtaDied(ClaimBroken):
    """The MTA under test died during the example."""


@dataclass
class ExampleResult:
    """What happened in one example and every claim's verdict on it."""

    outage: Outage
    claims: list[ClaimResult]
    #: Times in seconds since the example started, as in the run record.
    messages: list[Message]
    timeline: list[FaultEvent]
    mta_died: str | None = None
    #: What the MTA's own queue held, at moments named by ``label``.
    queue_snapshots: list[QueueSnapshot] = field(default_factory=list)
    bounds: Bounds = field(default_factory=Bounds)
    #: The claim objects behind ``claims``, in the same order: each raises its own failure.
    judges: list[Claim] = field(default_factory=list, repr=False)
    #: Figures the search steers by (``harness.strategies.steer``).
    figures: dict[str, float] = field(default_factory=dict)
    #: When the faults healed and whether (and when) the MTA was asked to retry now.
    settlement: Settlement | None = None
    #: Seconds each site had gone without a delivery when the example began (sites that had
    #: taken mail before it only): the control starts from the same.
    idle_before: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:  # short: pytest prints it under a failed assert
        broken = ", ".join(p.name for p in self.failures()) or "none"
        return f"<ExampleResult {self.outage.name}: holds={self.holds}, broken: {broken}>"

    @property
    def holds(self) -> bool:
        return self.mta_died is None and all(p.holds for p in self.claims)

    def failures(self) -> list[ClaimResult]:
        return [p for p in self.claims if not p.holds]

    def notes(self) -> list[ClaimResult]:
        """Claims that held but with a warning, were not judged, or could not be proven."""
        return [p for p in self.claims if p.verdict not in (Verdict.HOLDS, Verdict.BROKEN)]

    @property
    def broken_claim(self) -> str | None:
        """The claim this example fails by: the first broken one (the MTA's death first)."""
        if self.mta_died is not None:
            return "mta_alive"
        failures = self.failures()
        return failures[0].name if failures else None

    def check(self) -> None:
        """Raise the first broken claim's own exception, so Hypothesis tracks and shrinks
        each claim's failures apart; do nothing if every claim held."""
        if self.mta_died is not None:
            raise MtaDied(self.explain())
        for judge, verdict in zip(self.judges, self.claims, strict=True):
            if not verdict.holds:
                judge.fail(self.explain())

    def explain(self) -> str:
        """The failure in words: the scenario, then each broken claim and its evidence."""
        lines = [self.outage.describe()]
        if self.mta_died:
            lines.append(f"the MTA died: {self.mta_died}")
        in_flight = int(self.figures.get("mail_to_sick", 0))
        if in_flight and self.broken_claim == "healthy_sites_keep_flowing":
            lines.append(
                f"{in_flight} message(s) were in flight to faulted links when healthy mail "
                "waited (mail that can hold a delivery pool or a queue runner)"
            )
        for result in self.failures() + [n for n in self.notes() if n.verdict is Verdict.WARNING]:
            label = "" if result.verdict is Verdict.BROKEN else f" ({result.verdict.value})"
            lines.append(f"{result.name}{label}: {result.summary}")
            # Its first few items, and every sentence-worthy one (a control's, say).
            shown = result.evidence[:5] + [e for e in result.evidence[5:] if e.words()]
            for item in shown:
                if isinstance(item, LateMessage):
                    lines.append("  " + self._late_message(item))
                else:
                    words = item.words()
                    cells = ", ".join(f"{k}={v}" for k, v in item.cells().items())
                    lines.append("  " + (words or cells))
        return "\n".join(lines)

    def _late_message(self, item: LateMessage) -> str:
        head = f"healthy message {item.id} to {item.site}"
        held = f" (the MTA took {item.acceptance:.2f} s to accept it)" if item.acceptance else ""
        if item.arrived:
            return (
                f"{head} arrived {item.waited:.2f} s after its submission began{held}, "
                "past the bound"
            )
        final = next((m for m in self.messages if m.id == item.id), None)
        heals = [e.at for e in self.timeline if e.action == "heal"]
        tail = ""
        if final is not None and final.latency is not None:
            tail = f"; it arrived {final.latency:.2f} s after its submission began"
            if heals:
                tail += f", after the faults were healed at t={max(heals):.2f} s"
        elif final is not None:
            tail = f"; in the end it was {final.status}"
        return (
            f"{head} was still undelivered {item.waited:.2f} s after its submission "
            f"began{held}{tail}"
        )

    def history(self) -> list[HistoryEvent]:
        """Everything that happened, in time order: submissions, acceptances, deliveries,
        bounces, faults applied and healed, queue snapshots (seconds since the start)."""
        events: list[HistoryEvent] = []
        for m in self.messages:
            events.append(HistoryEvent(at=m.submitted_at, event="submit", id=m.id, site=m.site))
            if m.accepted_at is not None:
                events.append(HistoryEvent(at=m.accepted_at, event="accept", id=m.id))
            if m.refusal is not None:
                events.append(
                    HistoryEvent(at=m.submitted_at, event="refused", id=m.id, reason=m.refusal)
                )
            events += [
                HistoryEvent(
                    at=a.at, event="deliver", id=m.id, site=a.site, connection=a.connection
                )
                for a in m.arrivals
            ]
            events += [HistoryEvent(at=b, event="bounce", id=m.id) for b in m.bounces]
        events += [
            HistoryEvent(
                at=e.at, event=e.action, site=e.site, fault=e.kind, description=e.description
            )
            for e in self.timeline
        ]
        events += [
            HistoryEvent(at=q.at, event="queue", label=q.label, held=q.held, error=q.error)
            for q in self.queue_snapshots
        ]
        retry = self.settlement.retry if self.settlement else None
        if retry is not None and retry.asked_at is not None:
            events.append(
                HistoryEvent(at=retry.asked_at, event="retry", answer=retry.answer.strip())
            )
        return sorted(events, key=lambda e: e.at)

    def to_record(self, test: str, logged_at: float) -> ExampleRecord:
        """This example as the run record holds it, logged for ``test``."""
        return ExampleRecord(
            scenario=ScenarioShape.model_validate(self.outage.to_json()),
            description=self.outage.describe(),
            holds=self.holds,
            mta_died=self.mta_died,
            bounds=BoundsRecord(**asdict(self.bounds)),
            claims=[p.outcome() for p in self.claims],
            broken_claim=self.broken_claim,
            figures=self.figures,
            settlement=_settlement_record(self.settlement),
            messages=self.messages,
            timeline=self.timeline,
            queue_snapshots=self.queue_snapshots,
            history=self.history(),
            test=test,
            logged_at=logged_at,
        )

    def to_counterexample(self, test: str, logged_at: float, shrunk: bool) -> Counterexample:
        """This failing example as the run record keeps it for its test and broken claim."""
        return Counterexample(
            **dict(self.to_record(test, logged_at)), explanation=self.explain(), shrunk=shrunk
        )


def play(
    world: World,
    outage: Outage | Scenario,
    bounds: Bounds,
    strict_duplicates: bool = False,
    claims: list[Claim] | None = None,
) -> ExampleResult:
    """Run ``outage`` in a clean ``world`` and judge it against every claim.

    Steps run in order, each at its ``at`` time if it has one. Then the claims judged under
    the faults run (the seed's claim fails the moment one healthy message passes
    ``bounds.delivery``), every fault still active is healed, the mail is settled (the
    recovery bound, then a retry-now and the retry window for what is left), and the other
    claims judge that. ``strict_duplicates`` makes even SMTP's at-least-once duplicates (a
    fault cut the link after the final dot) a failure.
    """
    if isinstance(outage, Scenario):
        outage = outage.to_outage()
    judges = claims if claims is not None else default_claims()
    played = _play_once(world, outage, bounds, strict_duplicates, judges)
    return _against_control(world, played, strict_duplicates)


def _play_once(
    world: World, outage: Outage, bounds: Bounds, strict_duplicates: bool, judges: list[Claim]
) -> ExampleResult:
    with world.example() as example:
        idle_before = {
            name: example.started_at - last
            for name in outage.site_names
            if (last := world.last_delivery(name)) is not None
        }
        facts = ExampleFacts(
            example.ledger,
            bounds,
            example.fault_windows,
            strict_duplicates=strict_duplicates,
            loads=example.load_windows,
        )
        for step in outage.steps:
            if step.at is not None:
                _wait_until(example.started_at + step.at)
            if step.waits_for_mail:
                example.wait_for_sends()
            step.play(example, bounds)
        example.wait_for_background()
        example.wait_for_sends()
        verdicts = {j.name: j.judge(facts) for j in judges if j.before_heal}
        snapshots = [_queue_snapshot(world, example, "before the heal")]
        in_flight = _in_flight_to_sick(example)
        healed_at = example.heal_all()
        facts.settlement = settle(world, example, bounds, healed_at)
        verdicts |= {j.name: j.judge(facts) for j in judges if not j.before_heal}
        world.check_alive()
        snapshots.append(_queue_snapshot(world, example, "at the end"))
        service = world.mta_service
        died = None
        if service is not None and service.returncode is not None:
            died = f"exit status {service.returncode}; last output:\n{service.tail()}"
        t0 = example.started_at
        return ExampleResult(
            outage,
            [verdicts[j.name] for j in judges],
            [_relative(r, t0) for r in example.ledger.records()],
            [
                FaultEvent(
                    at=round(e.at - t0, 3),
                    site=e.site,
                    kind=e.kind,
                    action=e.action,
                    description=e.description,
                )
                for e in example.timeline
            ],
            died,
            snapshots,
            bounds,
            judges,
            _figures(verdicts, bounds, in_flight, example.ledger.records()),
            _relative_settlement(facts.settlement, t0),
            idle_before,
        )


def links_up(outage: Outage, mail: ControlMail | None = None) -> Outage:
    """``outage``'s mail, sent as it was, with every step that touches a site left out; then,
    for the control, its sends ``mail.repeats`` times more (on their own sessions, as a copy
    of the example's own pattern) and ``mail.trickle``'s trickles."""
    sends = tuple(step for step in outage.steps if step.touches() is None)
    steps = list(sends)
    if mail is not None:
        steps += [step.timed(None) for _ in range(mail.repeats) for step in sends]
        steps += [Trickle(site, count) for site, count in mail.trickle]
    return replace(
        outage,
        steps=tuple(steps),
        name=f"{outage.name} (control: every link up)",
        description="",
    )


def held_faults(outage: Outage) -> Outage:
    """``outage`` with its faults held once applied: no heal or tame step, and no second
    fault on a site already faulted. The lifted replay plays this, so a stall lasts as long
    as the MTA lets it, not only as long as the outage's own fault did (the seed's bug in a
    paced build stalls a 6 s fault for 6 s, within its own 4 s pauses plus the bound)."""
    steps: list[Step] = []
    faulted: set[str] = set()
    for step in outage.steps:
        site = step.touches()
        if site is not None and (step.do in ("heal", "tame") or site in faulted):
            continue
        if site is not None:
            faulted.add(site)
        steps.append(step)
    return replace(outage, steps=tuple(steps), name=f"{outage.name} (faults held)", description="")


def _against_control(world: World, played: ExampleResult, strict_duplicates: bool) -> ExampleResult:
    """If healthy mail was late, ask what the MTA does without the faults: send the mail
    again with every link up and, if it was late then too, play the faulted example against that
    (:mod:`harness.claims.pacing` judges). Only from a settled, living MTA: mail it still
    held, or its death, would be the fault's doing."""
    index = next(
        (i for i, c in enumerate(played.claims) if c.name == HealthySitesKeepFlowing.name), None
    )
    if index is None:
        return played
    broken = played.claims[index]
    if broken.verdict is not Verdict.BROKEN or not explainable(broken):
        return played
    held = any(m.status == Status.PENDING.value for m in played.messages)
    if played.mta_died is not None or held:
        return played
    bound = played.bounds.delivery
    mail = control_mail(broken, played.messages, played.idle_before, played.bounds.recovery)
    _recreate_idle(world, played.outage.sites, mail, played.bounds)
    control = _play_once(world, links_up(played.outage, mail), played.bounds, False, []).messages
    lifted_to = lifted_bound(control, broken, bound, mail.extra)
    lifted = None
    if lifted_to is not None:
        again = _play_once(
            world,
            held_faults(played.outage),
            played.bounds,
            strict_duplicates,
            [PausesWithin(lifted_to)],
        )
        lifted = again.claims[0]
    claims = list(played.claims)
    claims[index] = against_control(broken, control, bound, lifted, lifted_to, mail)
    return replace(played, claims=claims)


def _recreate_idle(world: World, sites: int, mail: ControlMail, bounds: Bounds) -> None:
    """Start the control as the example started: each site of ``mail.idle`` without a
    delivery for as long as it had been then. A site idle longer than that now first takes
    one message (a small example of its own, as the example before had given it mail); then
    the control waits out what is left of each site's idle time. OpenSMTPD, which reconnects
    to a route only 3 to 5 s after it hung up on it, makes mail that comes just after a
    hang-up wait, dead link or not."""
    if not mail.idle:
        return

    def idle_now(site: str) -> float | None:
        last = world.last_delivery(site)
        return None if last is None else now() - last

    stale = [
        site for site, idle in mail.idle if (now_idle := idle_now(site)) is None or now_idle > idle
    ]
    if stale:
        priming = Outage(sites, tuple(Trickle(site, 1) for site in stale), name="control: priming")
        _play_once(world, priming, bounds, False, [])
    starts = [
        last + idle for site, idle in mail.idle if (last := world.last_delivery(site)) is not None
    ]
    if starts:
        _wait_until(max(starts))


#: Seconds a site's report of a message may take to reach the ledger (it is sent before the
#: site's 250, so by the time the MTA dropped the message from its queue it is on its way).
ARRIVAL_LAG = 1.0


def settle(world: World, example: Example, bounds: Bounds, healed_at: float) -> Settlement:
    """After the heal: wait the recovery bound for every accepted message to settle; if some
    did not, note what the MTA holds, ask it to retry now, and wait the retry window."""
    ledger = example.ledger

    def all_settled(records: list[MessageRecord]) -> bool:
        return all(r.settled for r in records)

    if ledger.wait_until(all_settled, Deadline(healed_at + bounds.recovery)):
        return Settlement(healed_at, True, {})
    held = world.held_messages()
    answer = world.retry_now()
    if answer is None:
        retry = Retry(None, f"{world.adapter.name} has no retry-now command", held)
        return Settlement(healed_at, False, held, retry)
    asked_at = now()
    listed = world.held_messages()
    pending = [r for r in ledger.records() if not r.settled]
    if listed is not None and not any(r.rcpt in listed for r in pending):
        # Asked to retry, the MTA holds none of them: nothing is left to deliver them. Wait
        # only for arrivals already on their way to the ledger (a site reports a message
        # before it answers 250), then the listing is the proof.
        ledger.wait_until(all_settled, Deadline.after(ARRIVAL_LAG))
    else:
        ledger.wait_until(all_settled, Deadline(asked_at + bounds.retry))
    return Settlement(healed_at, False, held, Retry(asked_at, answer, world.held_messages()))


def _relative_settlement(settlement: Settlement, t0: float) -> Settlement:
    retry = settlement.retry
    if retry is not None and retry.asked_at is not None:
        retry = replace(retry, asked_at=round(retry.asked_at - t0, 3))
    return replace(settlement, healed_at=round(settlement.healed_at - t0, 3), retry=retry)


def _in_flight_to_sick(example: Example) -> int:
    """Messages accepted for a site while its own link was faulted and still undelivered."""
    windows = example.fault_windows()
    return sum(
        1
        for r in example.ledger.records()
        if r.accepted_at is not None
        and not r.arrivals
        and any(w.site == r.site and w.start <= r.accepted_at for w in windows)
    )


def _figures(
    verdicts: dict[str, ClaimResult],
    bounds: Bounds,
    in_flight: int,
    records: list[MessageRecord],
) -> dict[str, float]:
    healthy = verdicts.get("healthy_sites_keep_flowing")
    worst = healthy.figures.get("worst", 0.0) if healthy is not None else 0.0
    acceptances = [a for a in (r.acceptance() for r in records) if a is not None]
    return {
        "worst_healthy_over_bound": round(worst / bounds.delivery, 3),
        "mail_to_sick": in_flight,
        # How long the MTA took to answer a submission: a stall can hide there too.
        "worst_acceptance": round(max(acceptances, default=0.0), 3),
    }


def _wait_until(moment: float) -> None:
    # A scheduled step, not a wait for something to happen: the scenario says when.
    interrupts.sleep_until_stopped(Deadline(moment).remaining())


def _queue_snapshot(world: World, example: Example, label: str) -> QueueSnapshot:
    """The message ids the MTA's queue holds now (its own listing), or why it cannot say."""
    at = round(now() - example.started_at, 3)
    try:
        held = sorted(r.partition("@")[0] for r in world.queued_recipients())
    except HarnessError as exc:
        return QueueSnapshot(at=at, label=label, error=str(exc))
    return QueueSnapshot(at=at, label=label, held=held)


def _settlement_record(settlement: Settlement | None) -> SettlementRecord | None:
    if settlement is None:
        return None
    retry = settlement.retry
    return SettlementRecord(
        healed_at=settlement.healed_at,
        settled_in_time=settlement.settled_in_time,
        retry_asked_at=retry.asked_at if retry else None,
        retry_answer=retry.answer.strip() if retry else None,
    )


def _relative(record: MessageRecord, t0: float) -> Message:
    """A message's record with its times as seconds since the example started."""

    def since(moment: float | None) -> float | None:
        return None if moment is None else round(moment - t0, 3)

    def rounded(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds, 3)

    return Message(
        id=record.id,
        site=record.site,
        rcpt=record.rcpt,
        status=record.status.value,
        submitted_at=round(record.submitted_at - t0, 3),
        accepted_at=since(record.accepted_at),
        refusal=record.refusal,
        latency=rounded(record.latency()),
        acceptance=rounded(record.acceptance()),
        arrivals=[
            Arrival(
                site=a.site,
                at=round(a.at - t0, 3),
                connection=a.connection,
                tls=a.tls,
                seq=a.seq,
            )
            for a in record.arrivals
        ],
        bounces=[round(b - t0, 3) for b in record.bounces],
        warnings=[round(w - t0, 3) for w in record.warnings],
    )
