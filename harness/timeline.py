"""An outage as a timeline: what is sent, which links fail and heal, and when.

Every example the harness plays is an :class:`Outage`: a scenario file read from
``fixtures/scenarios/``, or an outage Hypothesis drew (``Scenario.to_outage``). Steps run in
order; a step with ``at`` waits until that many seconds after the example started (never runs
early), a step without runs right after the one before. When the timeline ends, the healthy
sites' mail is judged, every fault still active is healed, and recovery is judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.claims.base import Bounds
from harness.steps import MAX_SESSIONS, Cut, Heal, Misbehave, Send, Step, Tame, TimelineState
from harness.topology import remote_sites


@dataclass(frozen=True)
class Outage:
    """A whole example: the sites, the steps, and optionally its own bounds and defaults."""

    sites: int
    steps: tuple[Step, ...]
    name: str = "outage"
    description: str = ""
    bounds: Bounds | None = None
    strict_duplicates: bool | None = None
    mta: str | None = None
    backend: str | None = None
    #: "dns" for an outage that faults lookups: it needs an MTA routed by MX lookup.
    routing: str | None = None

    @property
    def site_names(self) -> list[str]:
        return [site.name for site in remote_sites(self.sites)]

    @property
    def sick(self) -> frozenset[str]:
        """Sites whose link is faulted, or who misbehave, at some step."""
        return frozenset(name for step in self.steps if (name := step.touches()) is not None)

    @property
    def healthy(self) -> frozenset[str]:
        """Sites that nothing is ever done to: their mail must keep flowing."""
        return frozenset(self.site_names) - self.sick

    def messages(self) -> int:
        return sum(len(step.mail()) for step in self.steps)

    def describe(self) -> str:
        if self.description:
            return self.description
        parts = []
        for step in self.steps:
            when = f"at {step.at:g} s: " if step.at is not None else ""
            parts.append(when + step.describe())
        return f"{self.sites} sites ({', '.join(self.site_names)}); " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sites": self.sites,
            "healthy": sorted(self.healthy),
            "steps": [step.to_json() for step in self.steps],
        }


def lookup_faults(steps: tuple[Step, ...]) -> list[int]:
    """Indexes of the steps that fault DNS lookups (``dns-*``): they need ``--routing dns``."""
    return [
        i for i, step in enumerate(steps) if str(step.to_json().get("fault", "")).startswith("dns-")
    ]


def check_steps(sites: int, steps: tuple[Step, ...]) -> list[tuple[int, str, str]]:
    """Problems a schema cannot see: (step index, field, what is wrong). Empty if none."""
    names = [site.name for site in remote_sites(sites)]
    problems: list[tuple[int, str, str]] = []
    state = TimelineState()
    last_at = 0.0
    for index, step in enumerate(steps):
        if step.at is not None:
            if step.at < last_at:
                problems.append(
                    (
                        index,
                        "at",
                        f"steps run in order: expected at >= {last_at:g} s, got {step.at:g}",
                    )
                )
            last_at = max(last_at, step.at)
        for key, name in step.names():
            if name not in names:
                problems.append(
                    (
                        index,
                        key,
                        f"expected one of {', '.join(names)} (the scenario has "
                        f"{sites} sites), got {name!r}",
                    )
                )
        problems += [(index, key, message) for key, message in step.check(state)]
    return problems


def vacuous(sites: int, steps: tuple[Step, ...]) -> list[str]:
    """Why these steps could not test the seed's claim (empty if they can): they must fault
    something, leave some site unfaulted, and send mail to a site not faulted so far, else
    every example of them is a pass with nothing judged."""
    names = [site.name for site in remote_sites(sites)]
    problems = []
    touched = {name for step in steps if (name := step.faults()) is not None}
    if not touched:
        problems.append(
            'expected a step that faults a link (do = "fault") or a site (do = "misbehave")'
        )
    if touched >= set(names):
        problems.append(
            f"every site ({', '.join(names)}) is faulted at some step: leave one unfaulted, "
            "its mail is what the claim judges"
        )
    faulted_so_far: set[str] = set()
    healthy_mail = False
    for step in steps:
        if (name := step.faults()) is not None:
            faulted_so_far.add(name)
        healthy_mail = healthy_mail or bool(set(step.mail()) - faulted_so_far)
    if touched and not healthy_mail:
        problems.append(
            "no message goes to a site that was not faulted before it was sent: "
            "there is no healthy mail to judge"
        )
    return problems


__all__ = [
    "MAX_SESSIONS",
    "Cut",
    "Heal",
    "Misbehave",
    "Outage",
    "Send",
    "Step",
    "Tame",
    "check_steps",
    "fault_windows",
    "vacuous",
]


def fault_windows(
    events: Iterable[tuple[str, str, str, float]], end: float = math.inf
) -> list[tuple[str, str, float, float]]:
    """Pair recorded fault events into windows.

    ``events`` are (site, kind, action, at) in time order, ``action`` being "apply" or
    "heal"; returns (site, kind, start, end) for each fault, in the order they closed, then
    the ones still open, which end at ``end``. A link fault and a site's own misbehaviour
    (kinds ``site:...``) are paired apart, so one never cuts the other's window short.
    """
    open_: dict[tuple[str, bool], tuple[str, float]] = {}
    windows: list[tuple[str, str, float, float]] = []
    for site, kind, action, at in events:
        key = (site, kind.startswith("site"))
        if action == "apply":
            open_[key] = (kind, at)
        elif key in open_:
            applied_kind, start = open_.pop(key)
            windows.append((site, applied_kind, start, at))
    return windows + [(site, kind, start, end) for (site, _), (kind, start) in open_.items()]
