"""The claims the harness certifies, each decided on its own (``base.Claim``).

=============================  ==========================================================
``healthy_sites_keep_flowing``  the seed's claim: healthy mail arrives within the bound
                                (judged against control replays when broken: ``pacing``)
``no_loss``                     every accepted message delivered or bounced (retry-now proof)
``no_misdelivery``              nothing arrives at a site it was not addressed to
``no_duplicates``               nothing arrives twice (SMTP's at-least-once case apart)
``prompt_recovery``             graded: heal-to-delivery time; a warning unless required
``healthy_throughput``          under a load step: healthy rate and p99 while faulted
=============================  ==========================================================
"""

from __future__ import annotations

from harness.claims.base import Bounds, Claim, ClaimBroken, ClaimResult, Verdict
from harness.claims.duplicates import NoDuplicates
from harness.claims.facts import ExampleFacts, FaultWindow, Retry, Settlement
from harness.claims.healthy import HealthySitesKeepFlowing
from harness.claims.loss import NoLoss
from harness.claims.misdelivery import NoMisdelivery
from harness.claims.pacing import LiftedReplay, LinksUpControl, against_control
from harness.claims.recovery import PromptRecovery
from harness.claims.throughput import HealthyThroughput


def default_claims() -> list[Claim]:
    """Every claim, in the order a failure is raised: the seed's claim first."""
    return [
        HealthySitesKeepFlowing(),
        NoLoss(),
        NoMisdelivery(),
        NoDuplicates(),
        PromptRecovery(),
        HealthyThroughput(),
    ]


__all__ = [
    "Bounds",
    "Claim",
    "ClaimBroken",
    "ClaimResult",
    "ExampleFacts",
    "FaultWindow",
    "LiftedReplay",
    "LinksUpControl",
    "Retry",
    "Settlement",
    "Verdict",
    "against_control",
    "default_claims",
]
