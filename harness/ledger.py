"""The ledger: every message the harness sends, and what became of it.

A message is *refused* (the MTA said no at submission), *pending* (accepted, not yet seen
anywhere), *delivered* (seen at a site, possibly more than once, possibly at the wrong one) or
*bounced* (a DSN for it reached the bounce sink). A message never leaves the books: there is
no way to remove a record, and every site event is either booked against a record or kept as
a stray.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Deadline
from harness.topology import BOUNCE_SINK


class Status(enum.Enum):
    REFUSED = "refused"
    PENDING = "pending"
    DELIVERED = "delivered"
    BOUNCED = "bounced"


@dataclass(frozen=True)
class Arrival:
    """One copy of a message seen at a site."""

    site: str
    at: float
    connection: str
    #: The TLS version it came over (None: plain text).
    tls: str | None = None
    #: Which message of its connection it was (1: the first), as the site counted.
    seq: int | None = None


@dataclass(frozen=True)
class SiteRefusal:
    """A site refused at some SMTP stage (it was told to misbehave): with the recipients
    that stage knew of (none at MAIL). The run's DNS server saying a site's domain does not
    exist is booked here too, as stage ``DNS <type>`` with no SMTP code: NXDOMAIN is as
    permanent an answer as a 5xx, so a bounce after it is correct."""

    site: str
    at: float
    stage: str
    code: int | None
    rcpts: tuple[str, ...]
    #: The DNS answer's RCODE, for a refusal by the run's DNS server.
    rcode: str | None = None

    @property
    def permanent(self) -> bool:
        if self.rcode is not None:
            return self.rcode == "NXDOMAIN"
        return self.code is not None and 500 <= self.code <= 599


@dataclass(frozen=True)
class Closure:
    """A site saw a connection end: when, and whether the client said QUIT first."""

    at: float
    quit: bool


@dataclass
class MessageRecord:
    """One message: where it was addressed, when it was submitted, what became of it."""

    id: str
    site: str
    rcpt: str
    submitted_at: float
    accepted_at: float | None = None
    refusal: str | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    #: When a DSN reporting this message failed reached the bounce sink.
    bounces: list[float] = field(default_factory=list)
    #: When a DSN that only warned (``Action: delayed``) reached it: not a bounce.
    warnings: list[float] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if self.refusal is not None:
            return Status.REFUSED
        if self.arrivals:
            return Status.DELIVERED
        if self.bounces:
            return Status.BOUNCED
        return Status.PENDING

    @property
    def settled(self) -> bool:
        """Nothing more is expected of this message."""
        return self.status is not Status.PENDING

    @property
    def first_arrival(self) -> Arrival | None:
        return min(self.arrivals, key=lambda a: a.at) if self.arrivals else None

    def latency(self) -> float | None:
        """Seconds from the start of the message's submission (its SMTP transaction, and the
        connection if one was opened for it) to its first arrival anywhere. From the start,
        not from acceptance: an MTA that holds its 250 while stuck has stalled the message."""
        first = self.first_arrival
        if first is None or self.accepted_at is None:
            return None
        return first.at - self.submitted_at

    def acceptance(self) -> float | None:
        """Seconds the MTA took to accept the message (None if it did not)."""
        return None if self.accepted_at is None else self.accepted_at - self.submitted_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "rcpt": self.rcpt,
            "status": self.status.value,
            "submitted_at": self.submitted_at,
            "accepted_at": self.accepted_at,
            "refusal": self.refusal,
            "latency": self.latency(),
            "acceptance": self.acceptance(),
            "arrivals": [a.__dict__ for a in self.arrivals],
            "bounces": self.bounces,
            "warnings": self.warnings,
        }


class Ledger:
    """Thread-safe books for one example; site events arrive from reader threads."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._records: dict[str, MessageRecord] = {}
        self._strays: list[dict[str, Any]] = []
        self._refusals: list[SiteRefusal] = []
        self._closures: dict[tuple[str, str], Closure] = {}
        self._numbers = itertools.count(1)
        self._changed = threading.Condition()

    # -- booking ---------------------------------------------------------------------------

    def open(self, site: str, domain: str, at: float) -> MessageRecord:
        """Book a new message to ``site`` before it is submitted; its id is unique here."""
        with self._changed:
            message_id = f"{self.prefix}m{next(self._numbers)}"
            record = MessageRecord(message_id, site, f"{message_id}@{domain}", submitted_at=at)
            self._records[message_id] = record
            return record

    def accepted(self, message_id: str, at: float) -> None:
        with self._changed:
            self._records[message_id].accepted_at = at
            self._changed.notify_all()

    def refused(self, message_id: str, reason: str) -> None:
        with self._changed:
            self._records[message_id].refusal = reason
            self._changed.notify_all()

    def on_site_event(self, event: dict[str, Any]) -> None:
        """Book a site's event: a delivery, a DSN at the bounce sink, a refusal, or the end
        of a connection."""
        kind = event.get("event")
        if kind == "query":
            self._book_dns_answer(event)
            return
        if kind not in ("message", "refused", "closed"):
            return
        with self._changed:
            if kind == "refused":
                self._refusals.append(
                    SiteRefusal(
                        str(event["site"]),
                        float(event["t"]),
                        str(event.get("stage", "")),
                        int(event["code"]),
                        tuple(str(r) for r in event.get("rcpts", [])),
                    )
                )
            elif kind == "closed":
                key = (str(event["site"]), str(event.get("connection", "")))
                self._closures[key] = Closure(float(event["t"]), bool(event.get("quit")))
            elif event.get("mail_from") == "" and event.get("site") == BOUNCE_SINK.name:
                self._book_dsn(event)
            else:
                self._book_delivery(event)
            self._changed.notify_all()

    def _book_dns_answer(self, event: dict[str, Any]) -> None:
        # Only a domain that does not exist matters to the books (a correct MTA bounces its
        # mail); SERVFAIL and silence are transient, as a 4xx is. A domain does not exist only
        # while the harness made it so (the dns-nxdomain fault): otherwise an NXDOMAIN is for
        # a name the zone has no record of under a domain that exists (an MTA-STS policy's
        # _mta-sts TXT, a DANE TLSA), which says nothing of the domain's mail.
        if event.get("outcome") != "NXDOMAIN" or event.get("fault") != "nxdomain":
            return
        if not event.get("domain"):
            return
        with self._changed:
            domain = str(event["domain"])
            sites = {r.site for r in self._records.values() if r.rcpt.partition("@")[2] == domain}
            for site in sorted(sites):
                self._refusals.append(
                    SiteRefusal(
                        site,
                        float(event["t"]),
                        f"DNS {event.get('type', '?')}",
                        None,
                        (),
                        rcode="NXDOMAIN",
                    )
                )
            self._changed.notify_all()

    def _book_delivery(self, event: dict[str, Any]) -> None:
        booked = False
        for rcpt in event.get("rcpts", []):
            record = self._records.get(str(rcpt).partition("@")[0])
            if record is not None:
                tls = event.get("tls")
                record.arrivals.append(
                    Arrival(
                        str(event["site"]),
                        float(event["t"]),
                        str(event.get("connection", "")),
                        None if tls is None else str(tls),
                        int(event["seq"]) if "seq" in event else None,
                    )
                )
                booked = True
        if not booked:
            self._strays.append(event)

    def _book_dsn(self, event: dict[str, Any]) -> None:
        # The original's id is quoted in its headers. A DSN whose every action is "delayed"
        # (or delivered, relayed, expanded) is a warning; one without Action fields is taken
        # at its word as a failure report (a bare bounce).
        actions = set(event.get("dsn_actions", []))
        failed = not actions or "failed" in actions
        ids = [i for i in event.get("harness_ids", []) if i in self._records]
        for message_id in ids:
            record = self._records[message_id]
            (record.bounces if failed else record.warnings).append(float(event["t"]))
        if not ids:
            self._strays.append(event)

    # -- reading ---------------------------------------------------------------------------

    def records(self) -> list[MessageRecord]:
        with self._changed:
            return list(self._records.values())

    def refusals(self) -> list[SiteRefusal]:
        """Every refusal the sites reported during this example, in order."""
        with self._changed:
            return list(self._refusals)

    def closure(self, site: str, connection: str) -> Closure | None:
        """How connection ``connection`` to ``site`` ended, if the site saw it end."""
        with self._changed:
            return self._closures.get((site, connection))

    def strays(self) -> list[dict[str, Any]]:
        """Site events that match no message of this ledger."""
        with self._changed:
            return list(self._strays)

    def wait_until(
        self, predicate: Callable[[list[MessageRecord]], bool], deadline: Deadline
    ) -> bool:
        """Wait for ``predicate(records)`` to hold; False if the deadline came first.

        Woken by every booking, so it reacts to a delivery at once and never sleeps blindly.
        """
        with self._changed:
            while not predicate(list(self._records.values())):
                if deadline.passed():
                    return False
                self._changed.wait(deadline.remaining())
            return True

    def counts(self) -> dict[str, int]:
        with self._changed:
            counts = {s.value: 0 for s in Status}
            for record in self._records.values():
                counts[record.status.value] += 1
            counts["strays"] = len(self._strays)
            return counts
