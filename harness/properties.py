"""The properties the harness certifies, each with the evidence behind its verdict.

(a) ``healthy_sites_keep_flowing``: while links are faulted, every message to a healthy site
    is delivered within the bound. Decided as soon as one message passes its bound.
(b) ``recovery_without_loss``: after every link heals, every accepted message is delivered or
    bounced within the recovery bound; anything else is still queued or lost, and says which.
(c) ``no_misdelivery``: nothing arrives at a site it was not addressed to.
(d) ``no_duplicates``: nothing arrives twice (at-least-once duplicates, reported apart from loss).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Deadline, now
from harness.ledger import Ledger, MessageRecord, Status


@dataclass(frozen=True)
class Bounds:
    """How long the properties give the MTA, in seconds."""

    #: (a) a healthy site's message, from acceptance to arrival, while other links are down.
    delivery: float = 3.0
    #: (b) every accepted message, from the moment all links healed.
    recovery: float = 30.0

    def __post_init__(self) -> None:
        if self.delivery <= 0 or self.recovery <= 0:
            raise ValueError("bounds must be positive numbers of seconds")


@dataclass
class PropertyResult:
    """One property's verdict on one example, with the evidence a person needs."""

    name: str
    holds: bool
    summary: str
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holds": self.holds,
            "summary": self.summary,
            "evidence": self.evidence,
        }


def healthy_sites_keep_flowing(
    ledger: Ledger, healthy_sites: Collection[str], bound: float
) -> PropertyResult:
    """Wait until every healthy message arrived, or fail the moment one passes its bound."""
    name = "healthy_sites_keep_flowing"
    while True:
        records = [r for r in ledger.records() if r.site in healthy_sites]
        refused = [r for r in records if r.status is Status.REFUSED]
        if refused:
            return PropertyResult(
                name,
                False,
                f"{len(refused)} message(s) to healthy sites refused at submission",
                [{"id": r.id, "site": r.site, "refusal": r.refusal} for r in refused],
            )
        waiting = [r for r in records if not r.arrivals and r.accepted_at is not None]
        late = [r for r in records if (r.latency() or 0.0) > bound]
        if late:
            return _late(name, late, bound)
        if not waiting:
            return PropertyResult(
                name,
                True,
                f"all {len(records)} message(s) to healthy sites arrived within {bound:g} s",
                [{"id": r.id, "site": r.site, "latency": r.latency()} for r in records],
            )
        first_due = min(r.accepted_at or 0.0 for r in waiting) + bound
        if now() >= first_due:
            overdue = [r for r in waiting if (r.accepted_at or 0.0) + bound <= now()]
            return _late(name, overdue, bound)
        waiting_ids = {r.id for r in waiting}
        ledger.wait_until(_any_arrived(waiting_ids), Deadline(first_due))


def _any_arrived(ids: set[str]) -> Callable[[list[MessageRecord]], bool]:
    return lambda records: any(r.arrivals for r in records if r.id in ids)


def _late(name: str, late: list[MessageRecord], bound: float) -> PropertyResult:
    at = now()
    evidence: list[dict[str, Any]] = []
    for r in late:
        latency = r.latency()
        waited = latency if latency is not None else at - (r.accepted_at or at)
        evidence.append(
            {"id": r.id, "site": r.site, "waited": round(waited, 3), "arrived": bool(r.arrivals)}
        )
    worst = max(float(e["waited"]) for e in evidence)
    return PropertyResult(
        name,
        False,
        f"{len(late)} message(s) to healthy sites waited past the {bound:g} s bound "
        f"(worst {worst:.2f} s so far)",
        evidence,
    )


def recovery_without_loss(
    ledger: Ledger, recovery_bound: float, held: Callable[[], Mapping[str, Mapping[str, str]]]
) -> PropertyResult:
    """After the heal: every accepted message delivered or bounced within the bound.

    ``held`` returns the recipients the MTA still holds, each with what the MTA says of it
    (queue id, reason, log lines), so an unsettled message is reported as *still queued*
    (the MTA has it, and why) or *lost* (nobody has it).
    """
    name = "recovery_without_loss"
    settled = ledger.wait_until(
        lambda records: all(r.settled for r in records), Deadline.after(recovery_bound)
    )
    records = ledger.records()
    if settled:
        bounced = [r.id for r in records if r.status is Status.BOUNCED]
        delivered = sum(1 for r in records if r.status is Status.DELIVERED)
        note = f", {len(bounced)} bounced" if bounced else ""
        return PropertyResult(
            name,
            True,
            f"all accepted messages settled within {recovery_bound:g} s of the heal: "
            f"{delivered} delivered{note}",
        )
    queued = held()
    pending = [r for r in records if r.status is Status.PENDING]
    evidence: list[dict[str, Any]] = []
    for r in pending:
        item: dict[str, Any] = {"id": r.id, "site": r.site}
        item["state"] = "still queued" if r.rcpt in queued else "lost"
        item.update(queued.get(r.rcpt, {}))
        evidence.append(item)
    lost = sum(1 for e in evidence if e["state"] == "lost")
    return PropertyResult(
        name,
        False,
        f"{len(pending)} accepted message(s) not delivered {recovery_bound:g} s after the heal "
        f"({len(pending) - lost} still queued, {lost} lost)",
        evidence,
    )


def no_misdelivery(records: list[MessageRecord]) -> PropertyResult:
    wrong = [
        {"id": r.id, "addressed_to": r.site, "arrived_at": a.site}
        for r in records
        for a in r.arrivals
        if a.site != r.site
    ]
    if wrong:
        return PropertyResult(
            "no_misdelivery", False, f"{len(wrong)} arrival(s) at the wrong site", wrong
        )
    return PropertyResult("no_misdelivery", True, "every arrival was at its addressed site")


def no_duplicates(
    records: list[MessageRecord],
    faulted_windows: Callable[[str], list[tuple[float, float]]] = lambda _site: [],
    strict: bool = False,
) -> PropertyResult:
    """Nothing arrives twice, except SMTP's own at-least-once case.

    When a link fails after the site took the final dot but before the MTA read the 250, the
    MTA must retry, and the site gets the message twice (RFC 1047). Such a duplicate, one
    whose link was faulted at some moment between the first and the last copy, is reported
    as *at-least-once* and does not break the property, unless ``strict``. A duplicate on a
    link that was never faulted in that span is an MTA bug and breaks it.
    ``faulted_windows(site)`` gives the (start, end) times the link to ``site`` was faulted.
    """
    unexplained: list[dict[str, Any]] = []
    at_least_once: list[dict[str, Any]] = []
    for r in records:
        if len(r.arrivals) < 2:
            continue
        first = min(a.at for a in r.arrivals)
        last = max(a.at for a in r.arrivals)
        excused = any(start <= last and end >= first for start, end in faulted_windows(r.site))
        item = {
            "id": r.id,
            "site": r.site,
            "copies": len(r.arrivals),
            "connections": [a.connection for a in r.arrivals],
            "link_faulted_between_copies": excused,
        }
        (at_least_once if excused else unexplained).append(item)
    broken = unexplained + (at_least_once if strict else [])
    note = (
        (
            f"; {len(at_least_once)} at-least-once duplicate(s) after a fault cut the link "
            "mid-transaction (RFC 1047)"
        )
        if at_least_once
        else ""
    )
    if broken:
        return PropertyResult(
            "no_duplicates",
            False,
            f"{len(broken)} message(s) delivered more than once" + note,
            broken + ([] if strict else at_least_once),
        )
    return PropertyResult(
        "no_duplicates", True, "no message arrived more than once" + note, at_least_once
    )
