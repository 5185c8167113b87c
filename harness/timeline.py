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
from harness.sites.protocol import Behaviour
from harness.topology import remote_sites

#: Submission sessions an outage may use at once (``Send.session`` is 0..MAX_SESSIONS-1).
MAX_SESSIONS = 4


@dataclass(frozen=True)
class Send:
    """Submit one message to each site named in ``to``, in that order, over SMTP session
    ``session``. Consecutive sends on different sessions run at the same time; any other
    step waits until every message sent before it was answered."""

    to: tuple[str, ...]
    at: float | None = None
    session: int = 0

    def describe(self) -> str:
        over = f" (session {self.session})" if self.session else ""
        return f"send to {', '.join(self.to)}{over}"


@dataclass(frozen=True)
class Cut:
    """Apply a fault (a registered kind) to the link to ``link``."""

    link: str
    fault: str
    at: float | None = None
    #: The fault's own time where it has one (latency: each reply's delay), in seconds;
    #: default the delivery bound.
    seconds: float | None = None

    def describe(self) -> str:
        size = f" ({self.seconds:g} s)" if self.seconds is not None else ""
        return f"{self.fault}{size} on the link to {self.link}"


@dataclass(frozen=True)
class Heal:
    """Undo the fault on the link to ``link``."""

    link: str
    at: float | None = None

    def describe(self) -> str:
        return f"heal the link to {self.link}"


@dataclass(frozen=True)
class Misbehave:
    """Make the site itself answer badly at one SMTP stage."""

    site: str
    behaviour: Behaviour
    at: float | None = None

    def describe(self) -> str:
        return f"{self.site} {self.behaviour.describe()}"


@dataclass(frozen=True)
class Tame:
    """The site answers normally again."""

    site: str
    at: float | None = None

    def describe(self) -> str:
        return f"{self.site} answers normally again"


Step = Send | Cut | Heal | Misbehave | Tame


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

    @property
    def site_names(self) -> list[str]:
        return [site.name for site in remote_sites(self.sites)]

    @property
    def sick(self) -> frozenset[str]:
        """Sites whose link is faulted, or who misbehave, at some step."""
        names: set[str] = set()
        for step in self.steps:
            if isinstance(step, Cut | Heal):
                names.add(step.link)
            elif isinstance(step, Misbehave | Tame):
                names.add(step.site)
        return frozenset(names)

    @property
    def healthy(self) -> frozenset[str]:
        """Sites that nothing is ever done to: their mail must keep flowing."""
        return frozenset(self.site_names) - self.sick

    def messages(self) -> int:
        return sum(len(step.to) for step in self.steps if isinstance(step, Send))

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
            "steps": [step_to_json(step) for step in self.steps],
        }


def step_to_json(step: Step) -> dict[str, Any]:
    """A step as a scenario file writes it (``do`` names the kind)."""
    out: dict[str, Any] = {}
    if step.at is not None:
        out["at"] = step.at
    if isinstance(step, Send):
        out.update(do="send", to=list(step.to))
        if step.session:
            out["session"] = step.session
    elif isinstance(step, Cut):
        out.update(do="fault", link=step.link, fault=step.fault)
        if step.seconds is not None:
            out["seconds"] = step.seconds
    elif isinstance(step, Heal):
        out.update(do="heal", link=step.link)
    elif isinstance(step, Misbehave):
        b = step.behaviour
        out.update(do="misbehave", site=step.site, stage=b.stage)
        if b.code is not None:
            out["code"] = b.code
        if b.delay:
            out["delay"] = b.delay
        if b.drop:
            out["drop"] = True
    else:
        out.update(do="tame", site=step.site)
    return out


def check_steps(sites: int, steps: tuple[Step, ...]) -> list[tuple[int, str, str]]:
    """Problems a schema cannot see: (step index, field, what is wrong). Empty if none."""
    names = [site.name for site in remote_sites(sites)]
    problems: list[tuple[int, str, str]] = []
    faulted: set[str] = set()
    sick: set[str] = set()
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
        targets: list[tuple[str, str]] = []
        if isinstance(step, Send):
            targets = [("to", name) for name in step.to]
        elif isinstance(step, Cut | Heal):
            targets = [("link", step.link)]
        else:
            targets = [("site", step.site)]
        for key, name in targets:
            if name not in names:
                problems.append(
                    (
                        index,
                        key,
                        f"expected one of {', '.join(names)} (the scenario has "
                        f"{sites} sites), got {name!r}",
                    )
                )
        if isinstance(step, Cut):
            if step.link in faulted:
                problems.append(
                    (index, "link", f"the link to {step.link} is already faulted: heal it first")
                )
            faulted.add(step.link)
        elif isinstance(step, Heal):
            if step.link not in faulted:
                problems.append(
                    (index, "link", f"the link to {step.link} is not faulted at this step")
                )
            faulted.discard(step.link)
        elif isinstance(step, Misbehave):
            sick.add(step.site)
        elif isinstance(step, Tame) and step.site not in sick:
            problems.append((index, "site", f"{step.site} does not misbehave at this step"))
    return problems


def vacuous(sites: int, steps: tuple[Step, ...]) -> list[str]:
    """Why these steps could not test the seed's claim (empty if they can): they must fault
    something, leave some site unfaulted, and send mail to a site not faulted so far, else
    every example of them is a pass with nothing judged."""
    names = [site.name for site in remote_sites(sites)]
    problems = []
    faulting = [s for s in steps if isinstance(s, Cut | Misbehave)]
    if not faulting:
        problems.append(
            'expected a step that faults a link (do = "fault") or a site (do = "misbehave")'
        )
    touched = {
        s.link if isinstance(s, Cut) else s.site for s in faulting if isinstance(s, Cut | Misbehave)
    }
    if touched >= set(names):
        problems.append(
            f"every site ({', '.join(names)}) is faulted at some step: leave one unfaulted, "
            "its mail is what the claim judges"
        )
    faulted_so_far: set[str] = set()
    healthy_mail = False
    for step in steps:
        if isinstance(step, Cut):
            faulted_so_far.add(step.link)
        elif isinstance(step, Misbehave):
            faulted_so_far.add(step.site)
        elif isinstance(step, Send) and set(step.to) - faulted_so_far:
            healthy_mail = True
    if faulting and not healthy_mail:
        problems.append(
            "no message goes to a site that was not faulted before it was sent: "
            "there is no healthy mail to judge"
        )
    return problems


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
