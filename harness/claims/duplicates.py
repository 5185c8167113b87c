"""``no_duplicates``: nothing arrives twice, except SMTP's own at-least-once case.

When a link fails after the site took the final dot but before the MTA read the 250, the MTA
must retry, and the site gets the message twice (RFC 1047). Such a duplicate is excused only
on the site's own evidence: every copy but the last came over a connection that the site saw
close without QUIT after it took the copy. It is reported as *at-least-once* and does not
break the claim, unless ``strict_duplicates``. Any other duplicate (a fault that cannot cut a
transaction after the final dot, such as latency, or none at all) is the MTA's and breaks it.
"""

from __future__ import annotations

from typing import Literal, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.evidence import EvidenceItem, evidence_kind
from harness.claims.facts import ExampleFacts
from harness.ledger import Arrival, Ledger


@evidence_kind
class DuplicateDelivery(EvidenceItem):
    """A message that arrived more than once, and whether each copy but the last came over a
    connection the site saw closed without QUIT after taking it (at-least-once)."""

    kind: Literal["duplicate"] = "duplicate"
    id: str
    site: str
    copies: int
    connections: list[str]
    cut_after_the_final_dot: bool


class MailDuplicated(ClaimBroken):
    """A message arrived more than once, and no fault explains it."""


class NoDuplicates:
    name = "no_duplicates"
    before_heal = False

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        unexplained: list[DuplicateDelivery] = []
        at_least_once: list[DuplicateDelivery] = []
        for r in facts.ledger.records():
            if len(r.arrivals) < 2:
                continue
            copies = sorted(r.arrivals, key=lambda a: a.at)
            cut = [_cut_after_acceptance(facts.ledger, a) for a in copies[:-1]]
            excused = all(cut)
            item = DuplicateDelivery(
                id=r.id,
                site=r.site,
                copies=len(r.arrivals),
                connections=[a.connection for a in copies],
                cut_after_the_final_dot=excused,
            )
            (at_least_once if excused else unexplained).append(item)
        broken = unexplained + (at_least_once if facts.strict_duplicates else [])
        note = (
            f"; {len(at_least_once)} at-least-once duplicate(s): their connection closed "
            "without QUIT after the final dot (RFC 1047)"
            if at_least_once
            else ""
        )
        if broken:
            return result(
                self.name,
                Verdict.BROKEN,
                f"{len(broken)} message(s) delivered more than once" + note,
                broken + ([] if facts.strict_duplicates else at_least_once),
            )
        return result(
            self.name, Verdict.HOLDS, "no message arrived more than once" + note, at_least_once
        )

    def fail(self, explanation: str) -> NoReturn:
        raise MailDuplicated(explanation)


def _cut_after_acceptance(ledger: Ledger, copy: Arrival) -> bool:
    """Whether the connection that carried ``copy`` closed without QUIT after the site took
    it: the sender may never have read the 250, so sending it again was right."""
    closure = ledger.closure(copy.site, copy.connection)
    return closure is not None and not closure.quit and closure.at >= copy.at
