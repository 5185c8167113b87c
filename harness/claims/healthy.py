"""``healthy_sites_keep_flowing``, the seed's claim: one dead link never stalls healthy mail.

A message is *healthy mail* when its own site (link and site) had not been faulted at any
moment up to its deadline (the start of its submission + the delivery bound) while some other
site was faulted at some moment between its submission and that deadline. The clock starts
when the harness begins to submit it, not at the MTA's 250: an MTA stuck on a dead link may
stall healthy mail by holding its greeting or its answer to the final dot. Faults come and go
within an example, so whether a message is judged depends on its own window, not on its site
alone: a site cut later is healthy before its cut. A site whose link healed a moment ago is not: an
MTA rightly backs off a destination that just failed (OpenSMTPD disables its route for a
while), and how fast that mail moves once the link is back is ``prompt_recovery``'s to grade.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.evidence import EvidenceItem, evidence_kind
from harness.claims.facts import ExampleFacts, FaultWindow
from harness.clock import Deadline, now
from harness.ledger import MessageRecord, Status


@evidence_kind
class LateMessage(EvidenceItem):
    """Healthy mail that waited past its bound: the one definition its readers (the failure
    in words, the report's table) read it by."""

    kind: Literal["late"] = "late"
    id: str
    site: str
    #: Seconds from the start of its submission to its arrival, or to the judging if it had
    #: not arrived by then.
    waited: float
    arrived: bool
    #: Seconds the MTA took to accept it (None if it never did).
    acceptance: float | None


@evidence_kind
class RefusedHealthyMail(EvidenceItem):
    """Healthy mail the MTA refused at submission (it may not stall its intake either)."""

    kind: Literal["refused at submission"] = "refused at submission"
    id: str
    site: str
    refusal: str | None


@evidence_kind
class OnTime(EvidenceItem):
    """Healthy mail that arrived within its bound."""

    kind: Literal["on time"] = "on time"
    id: str
    site: str
    latency: float | None


class HealthyMailStalled(ClaimBroken):
    """Healthy mail waited past its bound while another link was down."""


def is_healthy(record: MessageRecord, bound: float, windows: list[FaultWindow]) -> bool:
    """Whether ``record`` is judged as healthy mail (see the module's docstring)."""
    deadline = record.submitted_at + bound
    if any(w.site == record.site and w.start <= deadline for w in windows):
        return False
    others = [w for w in windows if w.site != record.site]
    return any(w.overlaps(record.submitted_at, deadline) for w in others)


class HealthySitesKeepFlowing:
    """Wait until every healthy message arrived, or fail the moment one passes its bound."""

    name = "healthy_sites_keep_flowing"
    before_heal = True

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        bound = facts.bounds.delivery
        while True:
            windows = facts.windows()
            records = [r for r in facts.ledger.records() if is_healthy(r, bound, windows)]
            refused = [r for r in records if r.status is Status.REFUSED]
            if refused:
                return result(
                    self.name,
                    Verdict.BROKEN,
                    f"{len(refused)} message(s) to healthy sites refused at submission",
                    [RefusedHealthyMail(id=r.id, site=r.site, refusal=r.refusal) for r in refused],
                )
            late = [r for r in records if (r.latency() or 0.0) > bound]
            if late:
                return self._late(late, bound)
            waiting = [r for r in records if not r.arrivals]
            if not waiting:
                return self._all_arrived(records, bound)
            first_due = min(r.submitted_at for r in waiting) + bound
            if now() >= first_due:
                overdue = [r for r in waiting if r.submitted_at + bound <= now()]
                return self._late(overdue, bound)
            ids = {r.id for r in waiting}
            facts.ledger.wait_until(any_arrived(ids), Deadline(first_due))

    def _all_arrived(self, records: list[MessageRecord], bound: float) -> ClaimResult:
        if not records:
            return result(
                self.name,
                Verdict.NOT_JUDGED,
                "no healthy mail was in flight while a link was faulted",
            )
        latencies = [r.latency() or 0.0 for r in records]
        return result(
            self.name,
            Verdict.HOLDS,
            f"all {len(records)} healthy message(s) arrived within {bound:g} s "
            f"(worst {max(latencies):.2f} s)",
            [OnTime(id=r.id, site=r.site, latency=r.latency()) for r in records],
            {"healthy": len(records), "worst": max(latencies)},
        )

    def _late(self, late: list[MessageRecord], bound: float) -> ClaimResult:
        at = now()
        evidence: list[LateMessage] = []
        for r in late:
            latency = r.latency()
            waited = latency if latency is not None else at - r.submitted_at
            acceptance = r.acceptance()
            evidence.append(
                LateMessage(
                    id=r.id,
                    site=r.site,
                    waited=round(waited, 3),
                    arrived=bool(r.arrivals),
                    acceptance=None if acceptance is None else round(acceptance, 3),
                )
            )
        worst = max(e.waited for e in evidence)
        return result(
            self.name,
            Verdict.BROKEN,
            f"{len(late)} message(s) to healthy sites waited past the {bound:g} s bound "
            f"(worst {worst:.2f} s so far)",
            evidence,
            {"worst": worst},
        )

    def fail(self, explanation: str) -> NoReturn:
        raise HealthyMailStalled(explanation)


def any_arrived(ids: set[str]) -> Callable[[list[MessageRecord]], bool]:
    """A ledger predicate: some message of ``ids`` has arrived."""
    return lambda records: any(r.arrivals for r in records if r.id in ids)
