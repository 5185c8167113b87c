"""``no_duplicates``: nothing arrives twice, except SMTP's own at-least-once case.

When a link fails after the site took the final dot but before the MTA read the 250, the MTA
must retry, and the site gets the message twice (RFC 1047). Such a duplicate, one whose site
was faulted at some moment between the first and the last copy, is reported as
*at-least-once* and does not break the claim, unless ``strict_duplicates``. A duplicate on a
site never faulted in that span is an MTA bug and breaks it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.facts import ExampleFacts


class MailDuplicated(ClaimBroken):
    """A message arrived more than once, and no fault explains it."""


class NoDuplicates:
    name = "no_duplicates"
    before_heal = False

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        unexplained: list[dict[str, Any]] = []
        at_least_once: list[dict[str, Any]] = []
        for r in facts.ledger.records():
            if len(r.arrivals) < 2:
                continue
            first = min(a.at for a in r.arrivals)
            last = max(a.at for a in r.arrivals)
            excused = any(w.overlaps(first, last) for w in facts.windows_of(r.site))
            item = {
                "id": r.id,
                "site": r.site,
                "copies": len(r.arrivals),
                "connections": [a.connection for a in r.arrivals],
                "link_faulted_between_copies": excused,
            }
            (at_least_once if excused else unexplained).append(item)
        broken = unexplained + (at_least_once if facts.strict_duplicates else [])
        note = (
            f"; {len(at_least_once)} at-least-once duplicate(s) after a fault cut the link "
            "mid-transaction (RFC 1047)"
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
