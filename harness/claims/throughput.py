"""``healthy_throughput``: under sustained load, one dead link does not slow the healthy sites.

Judged in examples with a load step (``do = "load"``), whose mail flows before, during and
after the faults. The healthy sites (nothing is ever done to them) are offered the same
rate throughout, so what they receive while a link is faulted is measured against what they
received before any fault, in the same example: the no-fault baseline.

- **throughput**: healthy arrivals a second while faulted must be at least
  :data:`MIN_FRACTION` of the baseline's;
- **p99 latency**: of the healthy mail submitted while faulted, the 99th percentile (mail
  that never arrived counts as infinitely late) must be within the delivery bound.

The seed's claim still judges every healthy message on its own; this one sees the rate the
seed's MTA lost when its queue of thousands stalled.
"""

from __future__ import annotations

import math
from typing import NoReturn

from harness.claims.base import ClaimBroken, ClaimResult, Verdict, result
from harness.claims.facts import ExampleFacts
from harness.ledger import MessageRecord

#: The healthy sites' throughput while a link is faulted, as a fraction of the baseline's.
MIN_FRACTION = 0.8
#: Seconds at the start of a load left out of the baseline: the sessions are still opening.
WARM_UP = 1.0
#: The shortest baseline and faulted spans that give a rate worth judging, in seconds.
MIN_SPAN = 2.0


class HealthyThroughputFell(ClaimBroken):
    """Under load, healthy sites received less, or later, while a link was faulted."""


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank) of ``values``; inf counts as the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


class HealthyThroughput:
    """Healthy throughput and p99 latency while faulted, against the example's baseline."""

    name = "healthy_throughput"
    before_heal = True

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        loads = facts.loads()
        windows = facts.windows()
        if not loads or not windows:
            return result(self.name, Verdict.NOT_JUDGED, "no fault under a sustained load")
        load_start = min(start for start, _ in loads)
        load_end = max(end for _, end in loads)
        fault_start = min(w.start for w in windows)
        fault_end = min(max(w.end for w in windows), load_end)
        base = (load_start + WARM_UP, fault_start)
        faulted = (fault_start, fault_end)
        if base[1] - base[0] < MIN_SPAN or faulted[1] - faulted[0] < MIN_SPAN:
            return result(
                self.name,
                Verdict.NOT_JUDGED,
                f"the load ran {base[1] - base[0]:.1f} s before the first fault and "
                f"{faulted[1] - faulted[0]:.1f} s under it: at least {MIN_SPAN:g} s each are "
                "needed for a rate",
            )
        sick = {w.site for w in windows}
        healthy = [r for r in facts.ledger.records() if r.site not in sick]
        base_rate = _rate(healthy, *base)
        faulted_rate = _rate(healthy, *faulted)
        during = [r for r in healthy if faulted[0] <= r.submitted_at < faulted[1]]
        latency = p99([r.latency() or math.inf for r in during]) if during else 0.0
        bound = facts.bounds.delivery
        figures = {
            "baseline_rate": base_rate,
            "faulted_rate": faulted_rate,
            "ratio": faulted_rate / base_rate if base_rate else 0.0,
            "never_arrived": sum(1 for r in during if r.first_arrival is None),
        }
        if math.isfinite(latency):
            figures["p99"] = latency
        words = (
            f"healthy sites received {faulted_rate:.1f} messages/s while a link was faulted, "
            f"{base_rate:.1f}/s before ({figures['ratio']:.0%}); p99 latency "
            f"{_seconds(latency)} of {len(during)} message(s) submitted while faulted"
        )
        if base_rate == 0:
            return result(self.name, Verdict.NOT_JUDGED, f"no baseline: {words}", (), figures)
        if faulted_rate < MIN_FRACTION * base_rate or latency > bound:
            why = (
                f"below {MIN_FRACTION:.0%} of the baseline"
                if faulted_rate < MIN_FRACTION * base_rate
                else f"p99 over the {bound:g} s bound"
            )
            return result(self.name, Verdict.BROKEN, f"{words}: {why}", (), figures)
        return result(self.name, Verdict.HOLDS, words, (), figures)

    def fail(self, explanation: str) -> NoReturn:
        raise HealthyThroughputFell(explanation)


def _rate(records: list[MessageRecord], start: float, end: float) -> float:
    """First arrivals a second in [start, end)."""
    arrived = sum(
        1 for r in records if (first := r.first_arrival) is not None and start <= first.at < end
    )
    return arrived / (end - start)


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if math.isfinite(value) else "never (some never arrived)"
