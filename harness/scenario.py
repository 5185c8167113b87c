"""A scenario: which sites exist, which links fail and how, and what mail is sent when."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.faults import fault_kinds, make_fault
from harness.properties import (
    Bounds,
    PropertyResult,
    healthy_sites_keep_flowing,
    no_duplicates,
    no_misdelivery,
    recovery_without_loss,
)
from harness.topology import MAX_SITES, remote_sites
from harness.world import World


@dataclass(frozen=True)
class Scenario:
    """One test case of the certification property.

    ``messages`` lists the site index of each message in submission order; the faults are
    applied after ``cut_after`` messages were submitted (0: before any).
    """

    sites: int
    faults: tuple[tuple[int, str], ...]
    messages: tuple[int, ...]
    cut_after: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.sites <= MAX_SITES:
            raise ValueError(f"sites must be 1..{MAX_SITES}, not {self.sites}")
        known = fault_kinds()
        for index, kind in self.faults:
            if not 0 <= index < self.sites:
                raise ValueError(f"fault on site {index}, but there are {self.sites} sites")
            if kind not in known:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(known)}")
        for index in self.messages:
            if not 0 <= index < self.sites:
                raise ValueError(f"message to site {index}, but there are {self.sites} sites")
        if not 0 <= self.cut_after <= len(self.messages):
            raise ValueError(f"cut_after must be 0..{len(self.messages)}")

    @property
    def faulted(self) -> frozenset[int]:
        return frozenset(index for index, _ in self.faults)

    def describe(self) -> str:
        """The scenario in words, as a failure report prints it."""
        names = [s.name for s in remote_sites(self.sites)]
        faults = "; ".join(f"link to {names[i]}: {kind}" for i, kind in self.faults)
        when = (
            "before any message was submitted"
            if self.cut_after == 0
            else f"after {self.cut_after} of {len(self.messages)} messages were submitted"
        )
        order = ", ".join(names[i] for i in self.messages)
        return (
            f"{self.sites} sites ({', '.join(names)}); faults ({faults}) applied {when}; "
            f"messages submitted in order: {order}"
        )


@dataclass
class ExampleResult:
    """What happened in one example and every property's verdict on it."""

    scenario: Scenario
    properties: list[PropertyResult]
    messages: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    mta_died: str | None = None

    @property
    def holds(self) -> bool:
        return self.mta_died is None and all(p.holds for p in self.properties)

    def failures(self) -> list[PropertyResult]:
        return [p for p in self.properties if not p.holds]

    def explain(self) -> str:
        """The failure in words: the scenario, then each broken property and its evidence."""
        lines = [self.scenario.describe()]
        if self.mta_died:
            lines.append(f"the MTA died: {self.mta_died}")
        for result in self.failures():
            lines.append(f"{result.name}: {result.summary}")
            for item in result.evidence[:5]:
                if "waited" in item:
                    lines.append("  " + self._late_message(item))
                else:
                    lines.append("  " + ", ".join(f"{k}={v}" for k, v in item.items()))
        return "\n".join(lines)

    def _late_message(self, item: dict[str, Any]) -> str:
        head = f"healthy message {item['id']} to {item['site']}"
        if item["arrived"]:
            return f"{head} arrived {item['waited']:.2f} s after acceptance, past the bound"
        final = next((m for m in self.messages if m["id"] == item["id"]), {})
        heals = [e["at"] for e in self.timeline if e["action"] == "heal"]
        tail = ""
        if final.get("latency") is not None:
            tail = f"; it arrived {final['latency']:.2f} s after acceptance"
            if heals:
                tail += f", after the faults were healed at t={max(heals):.2f} s"
        elif final:
            tail = f"; in the end it was {final['status']}"
        return f"{head} was still undelivered {item['waited']:.2f} s after acceptance{tail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": asdict(self.scenario),
            "description": self.scenario.describe(),
            "holds": self.holds,
            "mta_died": self.mta_died,
            "properties": [p.to_json() for p in self.properties],
            "messages": self.messages,
            "timeline": self.timeline,
        }


def play(
    world: World, scenario: Scenario, bounds: Bounds, strict_duplicates: bool = False
) -> ExampleResult:
    """Run ``scenario`` in a clean ``world`` and judge it against every property.

    ``strict_duplicates`` makes even SMTP's at-least-once duplicates (a fault cut the link
    after the final dot) break the no-duplicates property.
    """
    sites = world.remote_sites[: scenario.sites]
    with world.example() as example:
        faults = [(sites[i], make_fault(kind, bounds.delivery)) for i, kind in scenario.faults]
        healthy = {s.name for i, s in enumerate(sites) if i not in scenario.faulted}

        def cut() -> None:
            for site, fault in faults:
                example.apply(site, fault)

        if scenario.cut_after == 0:
            cut()
        for number, index in enumerate(scenario.messages, start=1):
            example.submit(sites[index])
            if number == scenario.cut_after:
                cut()
        results = [healthy_sites_keep_flowing(example.ledger, healthy, bounds.delivery)]
        example.heal_all()
        results.append(
            recovery_without_loss(example.ledger, bounds.recovery, world.queued_recipients)
        )
        records = example.ledger.records()
        results += [
            no_misdelivery(records),
            no_duplicates(records, example.faulted_windows, strict_duplicates),
        ]
        world.check_alive()
        service = world.mta_service
        died = None
        if service is not None and service.returncode is not None:
            died = f"exit status {service.returncode}; last output:\n{service.tail()}"
        t0 = example.started_at
        return ExampleResult(
            scenario,
            results,
            [_relative(r.to_json(), t0) for r in records],
            [{**asdict(e), "at": round(e.at - t0, 3)} for e in example.timeline],
            died,
        )


def _relative(message: dict[str, Any], t0: float) -> dict[str, Any]:
    """Times in a message record as seconds since the example started."""
    out = dict(message)
    for key in ("submitted_at", "accepted_at"):
        if out[key] is not None:
            out[key] = round(out[key] - t0, 3)
    out["arrivals"] = [{**a, "at": round(a["at"] - t0, 3)} for a in out["arrivals"]]
    out["bounces"] = [round(b - t0, 3) for b in out["bounces"]]
    if out["latency"] is not None:
        out["latency"] = round(out["latency"], 3)
    return out
