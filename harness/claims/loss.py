"""``no_loss``: every accepted message ends delivered or bounced. Proven, never waited out.

A bounce counts only where the site refused that message permanently (a 5xx; at MAIL, where
a site cannot know the recipient yet, any 5xx of that site while the message was on its
way): an MTA that bounces mail after a transient fault (a refused or reset connection, a
blackhole of seconds, a 4xx) has lost that delivery. A DSN that only warns
(``Action: delayed``) is no bounce at all (see :mod:`harness.ledger`).

After the heal the harness waits the recovery bound; whatever is still unsettled, it asks the
MTA to retry now and waits the retry window. Then a message is *delivered* (perhaps only after
the retry: said so in the evidence), *stuck* (still in the MTA's queue: broken, with the MTA's
own words) or *lost* (nowhere: broken). An MTA that cannot list its queue, or cannot be asked
to retry, gets "not proven" for what is still unsettled, never a silent pass.
"""

from __future__ import annotations

from typing import Literal, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.evidence import HeldItem, evidence_kind
from harness.claims.facts import ExampleFacts
from harness.ledger import MessageRecord, SiteRefusal, Status

Fate = Literal[
    "bounced on a transient fault",
    "delivered only after a retry was asked for",
    "stuck",
    "lost",
    "unsettled",
]


@evidence_kind
class MessageFate(HeldItem):
    """What became of one accepted message that did not settle as it should have (with the
    MTA's words where its queue still held it)."""

    kind: Literal["fate"] = "fate"
    state: Fate


class MailLost(ClaimBroken):
    """Accepted mail was neither delivered nor bounced, even after a retry was asked for."""


class NoLoss:
    """Judges what :class:`~harness.claims.facts.Settlement` recorded after the heal."""

    name = "no_loss"
    before_heal = False

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        settlement = facts.after_heal(self.name)
        records = facts.ledger.records()
        refusals = facts.ledger.refusals()
        accepted = [r for r in records if r.status is not Status.REFUSED]
        pending = [r for r in accepted if r.status is Status.PENDING]
        retry = settlement.retry
        late = []
        if retry is not None and retry.asked_at is not None:
            late = [r for r in accepted if _settled_after(r, retry.asked_at)]
        wrongly = [r for r in accepted if _bounced_on_a_transient_fault(r, refusals)]
        if wrongly:
            return result(
                self.name,
                Verdict.BROKEN,
                f"{len(wrongly)} message(s) bounced on a transient fault: the site never "
                "refused them permanently (5xx)"
                + (f"; {len(pending)} more still unsettled" if pending else ""),
                [
                    MessageFate(id=r.id, site=r.site, state="bounced on a transient fault")
                    for r in wrongly
                ],
                {"wrongly_bounced": len(wrongly)},
            )
        if not pending:
            delivered = sum(1 for r in accepted if r.status is Status.DELIVERED)
            bounced = len(accepted) - delivered
            summary = f"all {len(accepted)} accepted message(s) settled: {delivered} delivered"
            summary += f", {bounced} bounced" if bounced else ""
            if late:
                summary += f"; {len(late)} only after a retry was asked for"
            settled = [
                MessageFate(
                    id=r.id, site=r.site, state="delivered only after a retry was asked for"
                )
                for r in late
            ]
            return result(self.name, Verdict.HOLDS, summary, settled, {"after_retry": len(late)})
        held = retry.held_after if retry is not None else settlement.held_at_bound
        if held is None:
            return self._not_proven(pending, "the MTA cannot list its queue")
        evidence = [
            MessageFate(
                id=r.id,
                site=r.site,
                state="stuck" if r.rcpt in held else "lost",
                held=held.get(r.rcpt),
            )
            for r in pending
        ]
        lost = sum(1 for e in evidence if e.state == "lost")
        stuck = len(evidence) - lost
        if stuck and (retry is None or retry.asked_at is None) and not lost:
            why = retry.answer if retry is not None else "no retry was asked for"
            return self._not_proven(pending, f"still queued and the MTA cannot retry now ({why})")
        asked = "after a retry was asked for" if retry and retry.asked_at else "at the end"
        return result(
            self.name,
            Verdict.BROKEN,
            f"{len(pending)} accepted message(s) undelivered {asked}: "
            f"{stuck} stuck in the MTA's queue, {lost} lost",
            evidence,
            {"stuck": stuck, "lost": lost},
        )

    def _not_proven(self, pending: list[MessageRecord], why: str) -> ClaimResult:
        return result(
            self.name,
            Verdict.NOT_PROVEN,
            f"{len(pending)} message(s) unsettled; loss could not be proven: {why}",
            [MessageFate(id=r.id, site=r.site, state="unsettled") for r in pending],
        )

    def fail(self, explanation: str) -> NoReturn:
        raise MailLost(explanation)


def _settled_after(record: MessageRecord, moment: float) -> bool:
    times = [a.at for a in record.arrivals] + list(record.bounces)
    return bool(times) and min(times) >= moment


def _bounced_on_a_transient_fault(record: MessageRecord, refusals: list[SiteRefusal]) -> bool:
    if record.status is not Status.BOUNCED:
        return False
    bounced = min(record.bounces)
    return not any(
        f.permanent
        and f.site == record.site
        and (not f.rcpts or record.rcpt in f.rcpts)
        and record.submitted_at <= f.at <= bounced
        for f in refusals
    )
