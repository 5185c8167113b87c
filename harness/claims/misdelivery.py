"""``no_misdelivery``: nothing arrives at a site it was not addressed to."""

from __future__ import annotations

from typing import Literal, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.evidence import EvidenceItem, evidence_kind
from harness.claims.facts import ExampleFacts


@evidence_kind
class Misdelivery(EvidenceItem):
    """A copy of a message that arrived at a site it was not addressed to."""

    kind: Literal["misdelivery"] = "misdelivery"
    id: str
    addressed_to: str
    arrived_at: str


class MailMisdelivered(ClaimBroken):
    """A message arrived at a site it was not addressed to."""


class NoMisdelivery:
    name = "no_misdelivery"
    before_heal = False

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        wrong = [
            Misdelivery(id=r.id, addressed_to=r.site, arrived_at=a.site)
            for r in facts.ledger.records()
            for a in r.arrivals
            if a.site != r.site
        ]
        if wrong:
            return result(
                self.name, Verdict.BROKEN, f"{len(wrong)} arrival(s) at the wrong site", wrong
            )
        return result(self.name, Verdict.HOLDS, "every arrival was at its addressed site")

    def fail(self, explanation: str) -> NoReturn:
        raise MailMisdelivered(explanation)
