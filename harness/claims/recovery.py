"""``prompt_recovery``: how fast mail moves once its link is back. A graded figure.

Per message that waited for its link to heal: seconds from the heal to its first delivery. A
message bounced instead is not graded here: a right bounce (its domain did not exist, its
site refused it for good) recovers nothing, and a wrong one is ``no_loss``'s finding.
Median and worst per example, graded against the recovery bound. Over the bound is a
*warning* ("slow recovery", with the MTA's own reason), not a failure, unless the user asks
for it (``--require-recovery``): the seed's claim is about healthy sites and loss, not speed.
"""

from __future__ import annotations

import statistics
from typing import Literal, NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.evidence import HeldItem, evidence_kind
from harness.claims.facts import ExampleFacts
from harness.ledger import Status


@evidence_kind
class SlowlyRecovered(HeldItem):
    """A message that took longer than the recovery bound after its link healed."""

    kind: Literal["slow recovery"] = "slow recovery"
    #: Seconds from the heal to its first delivery; None if it was not delivered at all.
    recovered_in: float | None


class SlowRecovery(ClaimBroken):
    """Mail took longer than the recovery bound after its link healed (when required)."""


class PromptRecovery:
    name = "prompt_recovery"
    before_heal = False

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        settlement = facts.after_heal(self.name)
        bound = facts.bounds.recovery
        heals: dict[str, float] = {}
        for window in facts.windows():
            heals[window.site] = max(heals.get(window.site, 0.0), window.end)
        times: list[float] = []
        slow: list[SlowlyRecovered] = []
        held = settlement.held_at_bound or {}
        for r in facts.ledger.records():
            healed = heals.get(r.site)
            if healed is None or r.accepted_at is None:
                continue
            if r.status is Status.BOUNCED:
                continue  # settled without a delivery; whether rightly is no_loss's to judge
            first = r.first_arrival
            if first is not None and first.at < healed:
                continue  # delivered before its link healed (e.g. through a slow link)
            taken = (first.at if first is not None else float("inf")) - healed
            if first is not None:
                times.append(taken)
            if taken > bound:
                slow.append(
                    SlowlyRecovered(
                        id=r.id,
                        site=r.site,
                        recovered_in=round(taken, 3) if first is not None else None,
                        held=held.get(r.rcpt),
                    )
                )
        if not times and not slow:
            return result(self.name, Verdict.NOT_JUDGED, "no mail waited for a link to heal")
        figures: dict[str, float] = {
            "waited_for_heal": len(times) + sum(1 for s in slow if not s.recovered_in)
        }
        if times:
            figures |= {"median": statistics.median(times), "worst": max(times)}
        if not slow:
            return result(
                self.name,
                Verdict.HOLDS,
                f"{len(times)} message(s) delivered within {bound:g} s of their link's heal "
                f"(median {figures['median']:.2f} s, worst {figures['worst']:.2f} s)",
                figures=figures,
            )
        verdict = Verdict.BROKEN if facts.bounds.require_recovery else Verdict.WARNING
        undelivered = sum(1 for s in slow if s.recovered_in is None)
        summary = f"slow recovery: {len(slow)} message(s) took more than {bound:g} s after the heal"
        if undelivered:
            summary += f" ({undelivered} not delivered at all)"
        return result(self.name, verdict, summary, slow, figures)

    def fail(self, explanation: str) -> NoReturn:
        raise SlowRecovery(explanation)
