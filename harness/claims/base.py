"""The Claim extension point: one object judges one example and carries typed evidence.

Every claim is decided on its own and fails with an exception type of its own, raised from
its own module, because Hypothesis tells bugs apart by where they are raised: two claims
failing through one ``assert`` would be one bug to it, and shrinking could slide from one
into the other. A new claim is one new module with one class.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn, Protocol

from harness.claims.evidence import EvidenceItem

if TYPE_CHECKING:
    from harness.claims.facts import ExampleFacts
    from harness.record import ClaimOutcome


@dataclass(frozen=True)
class Bounds:
    """How long the claims give the MTA, in seconds."""

    #: A healthy site's message, from acceptance to arrival, while other links are down.
    delivery: float = 3.0
    #: Recovery is graded against this: every message from the heal to its delivery.
    recovery: float = 30.0
    #: After asking the MTA to retry now, how long it has to deliver what it still holds.
    retry: float = 30.0
    #: Make slow recovery a failure instead of a warning (``--require-recovery``).
    require_recovery: bool = False

    def __post_init__(self) -> None:
        if self.delivery <= 0 or self.recovery <= 0 or self.retry <= 0:
            raise ValueError("bounds must be positive numbers of seconds")


class Verdict(enum.Enum):
    """A claim's verdict on one example."""

    HOLDS = "holds"
    BROKEN = "broken"
    #: Held as the seed's claim asks, but a graded figure was poor (slow recovery).
    WARNING = "warning"
    #: Nothing in this example for the claim to judge (no healthy mail in flight, say).
    NOT_JUDGED = "not judged"
    #: The claim could not be proven with what the MTA offers (no queue listing, no retry).
    NOT_PROVEN = "not proven"


@dataclass
class ClaimResult:
    """One claim's verdict on one example, with the evidence and figures a person needs."""

    name: str
    verdict: Verdict
    summary: str
    evidence: list[EvidenceItem] = field(default_factory=list)
    #: Measured figures (seconds, counts), e.g. ``{"median": 0.4, "worst": 61.2}``.
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return self.verdict is not Verdict.BROKEN

    def outcome(self) -> ClaimOutcome:
        """This verdict as the run record holds it."""
        # Imported here: the record reads evidence classes from this package on import.
        from harness.record import ClaimOutcome

        return ClaimOutcome(
            name=self.name,
            verdict=self.verdict.value,
            holds=self.holds,
            summary=self.summary,
            evidence=self.evidence,
            figures=self.figures,
        )


class ClaimBroken(AssertionError):
    """Raised when a claim is broken; each claim raises a subclass of its own."""


class Claim(Protocol):
    """Judges one example. ``before_heal`` claims are judged while the faults are still on
    (they may wait for mail, with a deadline); the others after every link healed."""

    @property
    def name(self) -> str:
        """The claim's name in reports, JUnit and the certificate."""

    @property
    def before_heal(self) -> bool:
        """Whether it is judged before the faults are healed."""

    def judge(self, facts: ExampleFacts) -> ClaimResult:
        """The verdict on this example, from what was recorded (and, before the heal, what
        arrives before the claim's deadline)."""

    def fail(self, explanation: str) -> NoReturn:
        """Raise this claim's own :class:`ClaimBroken` subclass with ``explanation``."""


def result(
    name: str,
    verdict: Verdict,
    summary: str,
    evidence: Sequence[EvidenceItem] = (),
    figures: Mapping[str, float] | None = None,
) -> ClaimResult:
    """A :class:`ClaimResult`, with figures rounded to the millisecond."""
    return ClaimResult(
        name,
        verdict,
        summary,
        list(evidence),
        {k: round(v, 3) for k, v in (figures or {}).items()},
    )
