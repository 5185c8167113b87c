"""Unit tests of the claims on hand-made ledgers: each can hold, each can break, each says
"not judged" or "not proven" where it has nothing to go on."""

from __future__ import annotations

import math

import pytest

from harness.claims import (
    Bounds,
    ClaimBroken,
    ExampleFacts,
    FaultWindow,
    Retry,
    Settlement,
    Verdict,
    default_claims,
)
from harness.claims.duplicates import NoDuplicates
from harness.claims.evidence import QueueHold
from harness.claims.healthy import HealthySitesKeepFlowing
from harness.claims.loss import NoLoss
from harness.claims.misdelivery import Misdelivery, NoMisdelivery
from harness.claims.recovery import PromptRecovery
from harness.clock import now
from harness.ledger import Ledger
from harness.timeline import fault_windows

#: The MTA's queue holding a message, in words no claim reads.
HELD = QueueHold(queue_id="Q1", reason="deferred")


def arrive(ledger: Ledger, rcpt: str, site: str, t: float, connection: str = "c") -> None:
    ledger.on_site_event(
        {
            "event": "message",
            "site": site,
            "mail_from": "h@bounces.test",
            "rcpts": [rcpt],
            "harness_ids": [],
            "t": t,
            "connection": connection,
        }
    )


def accepted(ledger: Ledger, site: str, at: float) -> str:
    record = ledger.open(site, f"{site}.test", at)
    ledger.accepted(record.id, at)
    return record.rcpt


def facts(
    ledger: Ledger,
    windows: list[FaultWindow] | None = None,
    bounds: Bounds | None = None,
    settlement: Settlement | None = None,
    strict: bool = False,
) -> ExampleFacts:
    shown = [FaultWindow("site-a", "blackhole", -math.inf)] if windows is None else windows
    return ExampleFacts(ledger, bounds or Bounds(), lambda: shown, settlement, strict)


# -- healthy_sites_keep_flowing ------------------------------------------------------------


def test_healthy_sites_hold_when_every_healthy_message_arrived_in_time() -> None:
    ledger = Ledger("e1")
    t = now()
    arrive(ledger, accepted(ledger, "site-b", t), "site-b", t + 0.01)
    accepted(ledger, "site-a", t)  # to the faulted site: not healthy mail
    result = HealthySitesKeepFlowing().judge(facts(ledger, bounds=Bounds(delivery=5.0)))
    assert result.verdict is Verdict.HOLDS, result.summary
    assert result.figures["healthy"] == 1


def test_healthy_sites_break_as_soon_as_a_message_passes_its_bound() -> None:
    ledger = Ledger("e1")
    accepted(ledger, "site-b", now())
    result = HealthySitesKeepFlowing().judge(facts(ledger, bounds=Bounds(delivery=0.05)))
    assert result.verdict is Verdict.BROKEN
    assert result.evidence[0].id == "e1m1" and result.evidence[0].arrived is False
    assert result.evidence[0].waited >= 0.05


def test_a_late_arrival_breaks_it_even_if_it_arrived() -> None:
    ledger = Ledger("e1")
    arrive(ledger, accepted(ledger, "site-b", 100.0), "site-b", 110.0)
    result = HealthySitesKeepFlowing().judge(facts(ledger))
    assert result.verdict is Verdict.BROKEN and result.evidence[0].waited == 10.0


def test_a_healthy_message_refused_at_submission_breaks_it() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-b", "site-b.test", now())
    ledger.refused(record.id, "451 try later")
    result = HealthySitesKeepFlowing().judge(facts(ledger))
    assert result.verdict is Verdict.BROKEN and "refused" in result.summary


def test_with_no_healthy_mail_in_flight_it_is_not_judged_never_held() -> None:
    ledger = Ledger("e1")
    accepted(ledger, "site-a", 0.0)  # only mail for the faulted site
    result = HealthySitesKeepFlowing().judge(facts(ledger))
    assert result.verdict is Verdict.NOT_JUDGED
    # Nothing faulted at all: healthy-looking mail judges nothing either.
    ledger = Ledger("e2")
    arrive(ledger, accepted(ledger, "site-b", 0.0), "site-b", 9.0)
    assert HealthySitesKeepFlowing().judge(facts(ledger, [])).verdict is Verdict.NOT_JUDGED


def test_healthy_mail_is_judged_by_its_own_window_as_faults_come_and_go() -> None:
    ledger = Ledger("e1")
    before = accepted(ledger, "site-b", 1.0)  # site-b is cut only at 11 s: healthy mail
    cut = accepted(ledger, "site-b", 10.0)  # cut at 11 s, before its deadline: not judged
    after = accepted(ledger, "site-b", 30.0)  # healed at 20 s: recovery's to grade
    for rcpt in (before, cut, after):
        arrive(ledger, rcpt, "site-b", 25.0)
    windows = [
        FaultWindow("site-a", "blackhole", 0.0),
        FaultWindow("site-b", "refuse", 11.0, 20.0),
    ]
    result = HealthySitesKeepFlowing().judge(facts(ledger, windows))
    assert result.verdict is Verdict.BROKEN
    assert [e.id for e in result.evidence] == ["e1m1"]


# -- no_loss ---------------------------------------------------------------------------------


def test_no_loss_holds_when_everything_settled_in_time() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 1.0)
    arrive(ledger, rcpt, "site-a", 2.0)
    result = NoLoss().judge(facts(ledger, settlement=Settlement(1.5, True, {})))
    assert result.verdict is Verdict.HOLDS, result.summary


def test_no_loss_tells_stuck_from_lost_after_a_retry() -> None:
    ledger = Ledger("e1")
    stuck = accepted(ledger, "site-a", 1.0)
    accepted(ledger, "site-a", 1.0)
    held = {stuck: QueueHold(queue_id="ABC123", reason="deferred: connection refused")}
    retry = Retry(5.0, "postqueue -f", held)
    result = NoLoss().judge(facts(ledger, settlement=Settlement(2.0, False, held, retry)))
    assert result.verdict is Verdict.BROKEN
    assert [e.state for e in result.evidence] == ["stuck", "lost"]
    assert result.evidence[0].held.queue_id == "ABC123"
    assert "1 stuck in the MTA's queue, 1 lost" in result.summary


def test_mail_delivered_only_after_a_retry_holds_and_says_so() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 1.0)
    arrive(ledger, rcpt, "site-a", 40.0)
    retry = Retry(39.0, "postqueue -f", {})
    result = NoLoss().judge(facts(ledger, settlement=Settlement(2.0, False, {rcpt: HELD}, retry)))
    assert result.verdict is Verdict.HOLDS
    assert result.evidence[0].state == "delivered only after a retry was asked for"


def test_loss_is_not_proven_where_the_mta_cannot_retry_or_list() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 1.0)
    cannot_retry = Settlement(2.0, False, {rcpt: HELD}, Retry(None, "no command", {rcpt: HELD}))
    result = NoLoss().judge(facts(ledger, settlement=cannot_retry))
    assert result.verdict is Verdict.NOT_PROVEN and result.holds
    cannot_list = Settlement(2.0, False, None, Retry(None, "no command", None))
    assert NoLoss().judge(facts(ledger, settlement=cannot_list)).verdict is Verdict.NOT_PROVEN
    # Not in a queue the MTA can list: lost, whether or not it can be asked to retry.
    gone = Settlement(2.0, False, {}, Retry(None, "no command", {}))
    assert NoLoss().judge(facts(ledger, settlement=gone)).verdict is Verdict.BROKEN


# -- prompt_recovery -------------------------------------------------------------------------


def test_slow_recovery_is_a_warning_unless_required() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 1.0)
    arrive(ledger, rcpt, "site-a", 70.0)
    windows = [FaultWindow("site-a", "refuse", 0.0, 5.0)]
    settled = Settlement(
        5.0, False, {rcpt: QueueHold(queue_id="Q1", reason="skipped, still being delivered")}
    )
    graded = PromptRecovery().judge(facts(ledger, windows, settlement=settled))
    assert graded.verdict is Verdict.WARNING and graded.holds
    assert graded.figures["worst"] == 65.0
    assert graded.evidence[0].cells()["reason"] == "skipped, still being delivered"
    required = Bounds(require_recovery=True)
    hard = PromptRecovery().judge(facts(ledger, windows, required, settled))
    assert hard.verdict is Verdict.BROKEN


def test_prompt_recovery_holds_with_its_figures_and_judges_nothing_without_a_heal() -> None:
    ledger = Ledger("e1")
    for at in (6.0, 8.0):
        arrive(ledger, accepted(ledger, "site-a", 1.0), "site-a", at)
    windows = [FaultWindow("site-a", "refuse", 0.0, 5.0)]
    result = PromptRecovery().judge(facts(ledger, windows, settlement=Settlement(5.0, True)))
    assert result.verdict is Verdict.HOLDS
    assert result.figures == {"waited_for_heal": 2, "median": 2.0, "worst": 3.0}
    nothing = PromptRecovery().judge(facts(ledger, [], settlement=Settlement(5.0, True)))
    assert nothing.verdict is Verdict.NOT_JUDGED


def test_a_bounced_message_is_not_graded_as_a_slow_recovery() -> None:
    """After a dns-nxdomain fault a correct MTA bounces the domain's mail: it settled, it was
    never going to be delivered. Graded as "not delivered at all" it made a false warning,
    and a false FAIL under --require-recovery."""
    ledger = Ledger("e1")
    bounced = accepted(ledger, "site-a", 1.0)
    dsn(ledger, bounced.partition("@")[0], 2.0, dsn_actions=["failed"])
    held = accepted(ledger, "site-a", 1.0)  # still undelivered: graded
    windows = [FaultWindow("site-a", "dns-nxdomain", 0.0, 5.0)]
    required = Bounds(require_recovery=True)
    judged = PromptRecovery().judge(facts(ledger, windows, required, Settlement(5.0, False)))
    assert judged.verdict is Verdict.BROKEN
    assert [item.id for item in judged.evidence] == [held.partition("@")[0]]  # type: ignore[attr-defined]
    only_bounced = Ledger("e1")
    rcpt = accepted(only_bounced, "site-a", 1.0)
    dsn(only_bounced, rcpt.partition("@")[0], 2.0, dsn_actions=["failed"])
    alone = PromptRecovery().judge(facts(only_bounced, windows, required, Settlement(5.0, True)))
    assert alone.verdict is Verdict.NOT_JUDGED


# -- misdelivery, duplicates -----------------------------------------------------------------


def test_misdelivery_and_duplicates_are_caught_separately() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 0.0)
    arrive(ledger, rcpt, "site-a", 1.0, "1@x")
    assert NoMisdelivery().judge(facts(ledger, [])).holds
    assert NoDuplicates().judge(facts(ledger, [])).holds
    arrive(ledger, rcpt, "site-b", 2.0, "2@x")
    wrong = NoMisdelivery().judge(facts(ledger, []))
    twice = NoDuplicates().judge(facts(ledger, []))
    assert not wrong.holds and wrong.evidence == [
        Misdelivery(id="e1m1", addressed_to="site-a", arrived_at="site-b")
    ]
    assert not twice.holds and twice.evidence[0].copies == 2


def closed(ledger: Ledger, site: str, connection: str, t: float, quit: bool) -> None:
    ledger.on_site_event(
        {"event": "closed", "site": site, "connection": connection, "quit": quit, "t": t}
    )


def test_a_duplicate_is_excused_only_if_its_first_connection_closed_without_quit() -> None:
    def twice() -> Ledger:
        ledger = Ledger("e1")
        rcpt = accepted(ledger, "site-a", 0.0)
        arrive(ledger, rcpt, "site-a", 1.0, "1@x")
        arrive(ledger, rcpt, "site-a", 3.0, "2@x")
        return ledger

    cut = twice()
    closed(cut, "site-a", "1@x", 1.2, quit=False)  # the 250 never reached the MTA
    judged = NoDuplicates().judge(facts(cut))
    assert judged.holds and "at-least-once" in judged.summary
    assert not NoDuplicates().judge(facts(cut, strict=True)).holds
    # A fault window overlapping the copies is no evidence: a latency fault cannot cut a
    # transaction after the final dot.
    windowed = twice()
    lag = [FaultWindow("site-a", "latency", 0.5, 4.0)]
    assert not NoDuplicates().judge(facts(windowed, lag)).holds
    quit_first = twice()
    closed(quit_first, "site-a", "1@x", 1.2, quit=True)  # the MTA read the 250 and said QUIT
    assert not NoDuplicates().judge(facts(quit_first)).holds
    before = twice()
    closed(before, "site-a", "1@x", 0.5, quit=False)  # an earlier use of the name: no
    assert not NoDuplicates().judge(facts(before)).holds
    other_site = twice()
    closed(other_site, "site-b", "1@x", 1.2, quit=False)
    assert not NoDuplicates().judge(facts(other_site)).holds


# -- bounces -----------------------------------------------------------------------------------


def dsn(ledger: Ledger, message_id: str, t: float, site: str = "bounces", **more: object) -> None:
    ledger.on_site_event(
        {
            "event": "message",
            "site": site,
            "mail_from": "",
            "rcpts": ["harness@bounces.test"],
            "harness_ids": [message_id],
            "t": t,
            "connection": "9@x",
            **more,
        }
    )


def refusal(ledger: Ledger, site: str, code: int, rcpts: list[str], t: float) -> None:
    ledger.on_site_event(
        {"event": "refused", "site": site, "stage": "RCPT", "code": code, "rcpts": rcpts, "t": t}
    )


SETTLED = Settlement(healed_at=5.0, settled_in_time=True)


def test_a_bounce_counts_only_after_a_permanent_refusal_of_that_message() -> None:
    permanent = Ledger("e1")
    rcpt = accepted(permanent, "site-a", 0.0)
    refusal(permanent, "site-a", 550, [rcpt], 0.5)
    dsn(permanent, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
    assert NoLoss().judge(facts(permanent, settlement=SETTLED)).verdict is Verdict.HOLDS

    for code, rcpts in ((451, [rcpt]), (550, ["someone-else@site-a.test"])):
        transient = Ledger("e1")
        rcpt = accepted(transient, "site-a", 0.0)
        refusal(transient, "site-a", code, rcpts, 0.5)
        dsn(transient, rcpt.partition("@")[0], 1.0)
        judged = NoLoss().judge(facts(transient, settlement=SETTLED))
        assert judged.verdict is Verdict.BROKEN, (code, rcpts)
        assert "bounced on a transient fault" in judged.summary
    blackholed = Ledger("e1")  # no refusal at all: the link was down, the MTA gave up
    rcpt = accepted(blackholed, "site-a", 0.0)
    dsn(blackholed, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
    assert NoLoss().judge(facts(blackholed, settlement=SETTLED)).verdict is Verdict.BROKEN


def answer(
    ledger: Ledger, domain: str, outcome: str, t: float, name: str = "", qtype: str = "MX"
) -> None:
    """The run's DNS server's answer, as its query log says it (the fault it was under)."""
    fault = {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail"}.get(outcome)
    ledger.on_site_event(
        {
            "event": "query",
            "site": "dns",
            "name": name or f"{domain}.",
            "type": qtype,
            "domain": domain,
            "outcome": outcome,
            "fault": fault if not name else None,
            "t": t,
        }
    )


def test_a_name_the_zone_lacks_under_a_domain_that_exists_is_no_excuse_for_a_bounce() -> None:
    """maddy and chasquid ask for _mta-sts TXT before each delivery: NXDOMAIN there (no
    fault: the zone has no such name) must not make a bounce after a blackhole right."""
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 0.0)
    answer(ledger, "site-a.test", "NXDOMAIN", 0.5, name="_mta-sts.site-a.test.", qtype="TXT")
    dsn(ledger, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
    assert ledger.refusals() == []
    judged = NoLoss().judge(facts(ledger, settlement=SETTLED))
    assert judged.verdict is Verdict.BROKEN and "bounced on a transient fault" in judged.summary


def test_a_bounce_after_the_domain_did_not_exist_is_right_after_servfail_it_is_not() -> None:
    for outcome, verdict in (("NXDOMAIN", Verdict.HOLDS), ("SERVFAIL", Verdict.BROKEN)):
        ledger = Ledger("e1")
        rcpt = accepted(ledger, "site-a", 0.0)
        answer(ledger, "site-a.test", outcome, 0.5)
        answer(ledger, "outside.example", "NXDOMAIN", 0.5)  # no site's domain: no excuse
        dsn(ledger, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
        judged = NoLoss().judge(facts(ledger, settlement=SETTLED))
        assert judged.verdict is verdict, (outcome, judged.summary)
    other = Ledger("e1")  # another domain did not exist: no excuse for site-a's bounce
    rcpt = accepted(other, "site-a", 0.0)
    accepted(other, "site-b", 0.0)
    answer(other, "site-b.test", "NXDOMAIN", 0.5)
    dsn(other, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
    assert [r.site for r in other.refusals()] == ["site-b"]
    assert (
        "bounced on a transient fault" in NoLoss().judge(facts(other, settlement=SETTLED)).summary
    )
    late = Ledger("e1")  # the answer came after the bounce: it cannot have caused it
    rcpt = accepted(late, "site-a", 0.0)
    dsn(late, rcpt.partition("@")[0], 1.0, dsn_actions=["failed"])
    answer(late, "site-a.test", "NXDOMAIN", 2.0)
    assert NoLoss().judge(facts(late, settlement=SETTLED)).verdict is Verdict.BROKEN


def test_a_delayed_dsn_is_a_warning_and_a_dsn_elsewhere_no_bounce() -> None:
    ledger = Ledger("e1")
    rcpt = accepted(ledger, "site-a", 0.0)
    message_id = rcpt.partition("@")[0]
    dsn(ledger, message_id, 1.0, dsn_actions=["delayed"])
    record = ledger.records()[0]
    assert not record.settled and record.warnings == [1.0]
    dsn(ledger, message_id, 2.0, site="site-b", dsn_actions=["failed"])
    assert not record.settled and record.bounces == []
    unsettled = Settlement(5.0, False, {rcpt: HELD}, Retry(6.0, "ok", {rcpt: HELD}))
    assert NoLoss().judge(facts(ledger, settlement=unsettled)).verdict is Verdict.BROKEN


def test_healthy_mail_is_timed_from_the_start_of_its_submission() -> None:
    ledger = Ledger("e1")
    record = ledger.open("site-b", "site-b.test", 0.0)
    ledger.accepted(record.id, 5.0)  # the MTA held its 250 for 5 s, then delivered at once
    arrive(ledger, record.rcpt, "site-b", 5.1)
    judged = HealthySitesKeepFlowing().judge(facts(ledger))
    assert judged.verdict is Verdict.BROKEN
    assert judged.evidence[0].acceptance == 5.0


# -- the protocol ----------------------------------------------------------------------------


def test_every_claim_fails_with_an_exception_type_of_its_own() -> None:
    types = []
    for claim in default_claims():
        with pytest.raises(ClaimBroken) as raised:
            claim.fail("broken")
        types.append(type(raised.value))
        assert isinstance(raised.value, AssertionError)  # a verdict, not a harness error
    assert len(set(types)) == len(types) == len(default_claims()) == 6


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Bounds(delivery=0)
    with pytest.raises(ValueError):
        Bounds(retry=-1)


def test_a_link_fault_and_a_misbehaving_site_are_windows_of_their_own() -> None:
    events = [
        ("site-a", "refuse", "apply", 1.0),
        ("site-a", "site:RCPT", "apply", 2.0),
        ("site-a", "site", "heal", 3.0),
        ("site-a", "refuse", "heal", 9.0),
    ]
    assert fault_windows(events) == [
        ("site-a", "site:RCPT", 2.0, 3.0),
        ("site-a", "refuse", 1.0, 9.0),
    ]
