"""Unit tests of judging the seed's claim against a control (harness.claims.pacing):
a control can explain late mail only when the MTA was late with every link up too and the
faulted example, played again, kept within that plus the bound."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.claims import ClaimResult, LiftedReplay, LinksUpControl, Verdict
from harness.claims.base import result
from harness.claims.healthy import LateMessage, RefusedHealthyMail
from harness.claims.pacing import (
    PausesWithin,
    against_control,
    control_mail,
    explainable,
    lifted_bound,
    longest_pause,
)
from harness.clock import now
from harness.ledger import Ledger
from harness.record import Arrival, Message

from .test_claims import accepted, arrive, facts

BOUND = 3.0


@dataclass(frozen=True)
class Mail:
    site: str
    latency: float | None
    submitted_at: float = 0.0


def broken(*late: tuple[str, float]) -> ClaimResult:
    return result(
        "healthy_sites_keep_flowing",
        Verdict.BROKEN,
        "late",
        [
            LateMessage(id=f"m{i}", site=site, waited=w, arrived=False, acceptance=0.01)
            for i, (site, w) in enumerate(late)
        ],
        {"worst": max(w for _, w in late)},
    )


def holds(summary: str = "all in time") -> ClaimResult:
    return result("healthy_sites_keep_flowing", Verdict.HOLDS, summary)


def test_mail_on_time_with_every_link_up_lifts_nothing() -> None:
    claim = broken(("site-b", 3.1))
    controls = [Mail("site-b", 0.2), Mail("site-c", 9.0)]  # site-c was not late: ignored
    assert lifted_bound(controls, claim, BOUND) is None
    judged = against_control(claim, controls, BOUND)
    assert judged.verdict is Verdict.BROKEN
    assert "arrived within 0.20 s, with no pause past 0.20 s" in judged.summary
    assert LinksUpControl(site="site-b", worst=0.2, pause=0.2) in judged.evidence


def test_late_with_every_link_up_lifts_the_bound_by_the_mta_s_longest_pause() -> None:
    claim = broken(("site-b", 3.1))
    controls = [Mail("site-b", 4.5), Mail("site-b", None)]  # one never arrived: no figure
    assert lifted_bound(controls, claim, BOUND) == 4.5 + BOUND


def test_a_backlog_adds_up_latencies_not_pauses() -> None:
    # Four messages at once, a 4 s pause after the second: the last waited 4.3 s, yet the
    # MTA never left the site idle for more than 4 s; a later one came in 0.1 s.
    control = [
        Mail("site-b", 0.1),
        Mail("site-b", 0.2),
        Mail("site-b", 4.2),
        Mail("site-b", 4.3),
        Mail("site-b", 0.1, submitted_at=9.0),
    ]
    assert longest_pause(control, ["site-b"]) == 4.0
    assert longest_pause(control, ["site-c"]) == 0.0


def test_the_lifted_replay_decides_warning_or_broken() -> None:
    claim = broken(("site-b", 3.1))
    controls = [Mail("site-b", 4.5)]
    paced = against_control(claim, controls, BOUND, holds(), 7.5)
    assert paced.verdict is Verdict.WARNING and paced.holds
    assert "own pacing" in paced.summary
    assert paced.figures["worst_with_links_up"] == 4.5
    stalled = result("healthy_sites_keep_flowing", Verdict.BROKEN, "late past 7.5 s")
    judged = against_control(claim, controls, BOUND, stalled, 7.5)
    assert judged.verdict is Verdict.BROKEN
    replay = [e for e in judged.evidence if isinstance(e, LiftedReplay)]
    assert replay == [LiftedReplay(bound=7.5, verdict="broken", summary="late past 7.5 s")]


def test_a_lifted_replay_with_nothing_to_judge_explains_nothing() -> None:
    nothing = result("healthy_sites_keep_flowing", Verdict.NOT_JUDGED, "no healthy mail")
    judged = against_control(broken(("site-b", 3.1)), [Mail("site-b", 4.5)], BOUND, nothing, 7.5)
    assert judged.verdict is Verdict.BROKEN


def test_mail_refused_at_submission_is_never_explained() -> None:
    claim = result(
        "healthy_sites_keep_flowing",
        Verdict.BROKEN,
        "refused",
        [RefusedHealthyMail(id="m1", site="site-b", refusal="451 busy")],
    )
    assert not explainable(claim)
    assert explainable(broken(("site-b", 3.1)))


# -- the lifted replay's judge: pauses, not latencies --------------------------------------


def test_a_backlog_delivered_with_short_pauses_holds_though_its_latency_is_long() -> None:
    ledger = Ledger("e1")
    t = now() - 20.0
    rcpts = [accepted(ledger, "site-b", t) for _ in range(3)]
    for i, rcpt in enumerate(rcpts):  # 4 s apart: the last waited 12 s, no pause over 4 s
        arrive(ledger, rcpt, "site-b", t + 4.0 * (i + 1))
    verdict = PausesWithin(5.0).judge(facts(ledger))
    assert verdict.verdict is Verdict.HOLDS, verdict.summary
    assert PausesWithin(3.5).judge(facts(ledger)).verdict is Verdict.BROKEN


def test_a_healthy_site_left_idle_past_the_limit_breaks_it_at_once() -> None:
    ledger = Ledger("e1")
    accepted(ledger, "site-b", now())
    started = now()
    verdict = PausesWithin(0.05).judge(facts(ledger))
    assert verdict.verdict is Verdict.BROKEN and "site-b had mail waiting" in verdict.summary
    assert now() - started < 1.0


def test_with_no_healthy_mail_the_lifted_replay_judges_nothing() -> None:
    ledger = Ledger("e1")
    accepted(ledger, "site-a", now())  # only mail for the faulted site
    assert PausesWithin(5.0).judge(facts(ledger)).verdict is Verdict.NOT_JUDGED


def test_the_control_fills_the_longest_connection_once_more() -> None:
    def message(site: str, *seqs: int) -> Message:
        arrivals = [Arrival(site=site, at=1.0, connection=f"c{s}", seq=s) for s in seqs]
        return Message(
            id="m",
            site=site,
            rcpt=f"m@{site}.test",
            status="delivered",
            submitted_at=0.0,
            accepted_at=0.1,
            refusal=None,
            latency=1.0 if arrivals else None,
            arrivals=arrivals,
            bounces=[],
        )

    # site-b's connection carried its 100th message, then site-b's mail was late: the
    # control sends the example's mail twice more and trickles 101 messages to site-b, one
    # at a time (so they keep to one connection), so a cap of 100 per connection is met.
    faulted = [message("site-b", 99), message("site-b", 100), message("site-b", 1)]
    faulted += [message("site-c", 40)]  # not late: only copied
    mail = control_mail(broken(("site-b", 3.1)), faulted)
    assert mail.trickle == (("site-b", 101),)
    assert mail.repeats == 2 and mail.own == ("site-b",) * 3 + ("site-c",)
    assert mail.extra.count("site-b") == 2 * 3 + 101 and mail.extra.count("site-c") == 2
    # One message per connection: no connection limit to meet, only the copies.
    plain = control_mail(broken(("site-b", 3.1)), [message("site-b", 1)] * 3)
    assert plain.trickle == () and plain.extra == ("site-b",) * 6 and plain.idle == ()


def test_the_control_starts_each_late_site_as_idle_as_the_example_did() -> None:
    def sessions(site: str) -> list[Message]:  # a session that carried two messages
        arrivals = [Arrival(site=site, at=1.0, connection="c", seq=s) for s in (1, 2)]
        return [
            Message(
                id=f"m{a.seq}",
                site=site,
                rcpt=f"m{a.seq}@{site}.test",
                status="delivered",
                submitted_at=0.0,
                accepted_at=0.1,
                refusal=None,
                latency=1.0,
                arrivals=[a],
                bounces=[],
            )
            for a in arrivals
        ]

    claim = broken(("site-b", 9.5), ("site-c", 3.2), ("site-d", 4.0), ("site-f", 3.5))
    # site-b had a delivery 0.3 s before the example began, site-c 45 s before (past the
    # longest idle time worth recreating), site-d never; site-e was not late; site-f was
    # idle 0.2 s, but its MTA opened a connection per message: no session to recreate.
    idle = {"site-b": 0.3, "site-c": 45.0, "site-e": 0.1, "site-f": 0.2}
    faulted = sessions("site-b") + sessions("site-c") + sessions("site-d")
    faulted += [
        m.model_copy(update={"arrivals": [a.model_copy(update={"seq": 1}) for a in m.arrivals]})
        for m in sessions("site-f")
    ]
    mail = control_mail(claim, faulted, idle, longest_idle=30.0)
    assert mail.idle == (("site-b", 0.3),)
    judged = against_control(claim, [Mail("site-b", 0.2)], BOUND, mail=mail)
    (control,) = [e for e in judged.evidence if isinstance(e, LinksUpControl) and e.idle]
    assert control.site == "site-b" and "begun 0.30 s after its last delivery" in control.words()


def test_a_backlog_of_the_control_s_own_extra_mail_lifts_nothing() -> None:
    claim = broken(("site-b", 3.1))
    # Two of the example's own messages on time, then three extra ones the control added,
    # late behind their own backlog with no pause over 1 s: nothing to lift.
    control = [Mail("site-b", 0.5), Mail("site-b", 1.0)]
    control += [Mail("site-b", 2.0 + i, submitted_at=0.1 * (i + 1)) for i in range(3)]
    assert lifted_bound(control, claim, BOUND, extra=("site-b",) * 3) is None
    # Were they the example's own mail, it would be late with every link up: lifted.
    assert lifted_bound(control, claim, BOUND) == pytest.approx(1.1 + BOUND)
