"""The run record as typed models: what ``results.json`` holds, and what every reader (the
CLI's summary, the table, stability, the certificate, ``mta-harness report``) loads it back
into. The plugin's :class:`~harness.results.RunRecord` writes it; :func:`load_run` reads it,
and a file of another shape (an older harness's, or not a run record at all) gets one clear
message instead of a ``KeyError`` somewhere in a report.

Claim evidence is typed by kind (:mod:`harness.claims.evidence`: each claim module defines
and registers its own items). A scenario's steps stay open mappings: each step kind writes
its own form (:mod:`harness.steps`), read back only by ``mta-harness replay``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

from harness import __version__
from harness.claims.evidence import EvidenceItem, read_evidence
from harness.errors import UsageError
from harness.schema import dotted, problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Arrival(_Model):
    site: str
    at: float
    connection: str
    #: The TLS version the copy came over; None: plain text.
    tls: str | None = None
    #: Which message of its connection it was (1: the first), as the site counted.
    seq: int | None = None


class Message(_Model):
    """One message of an example, times in seconds since the example started."""

    id: str
    site: str
    rcpt: str
    status: str
    submitted_at: float
    accepted_at: float | None
    refusal: str | None
    #: From the start of its submission to its first arrival.
    latency: float | None
    #: How long the MTA took to accept it.
    acceptance: float | None = None
    arrivals: list[Arrival]
    bounces: list[float]
    warnings: list[float] = []


class FaultEvent(_Model):
    at: float
    site: str
    kind: str
    action: str
    description: str = ""


class QueueSnapshot(_Model):
    at: float
    label: str
    held: list[str] | None = None
    error: str | None = None


class Settlement(_Model):
    healed_at: float
    settled_in_time: bool
    retry_asked_at: float | None
    retry_answer: str | None


class HistoryEvent(_Model):
    """One thing that happened in an example, seconds since it started; which fields an
    event has depends on what it is (``event``: submit, accept, refused, deliver, bounce,
    apply, heal, queue, retry). Unset fields are left out of results.json."""

    at: float
    event: str
    id: str | None = None
    site: str | None = None
    connection: str | None = None
    #: Why the MTA refused a submission.
    reason: str | None = None
    fault: str | None = None
    description: str | None = None
    #: A queue snapshot's moment, the ids the queue held, or why it could not be listed.
    label: str | None = None
    held: list[str] | None = None
    error: str | None = None
    #: What the MTA's retry-now command printed.
    answer: str | None = None

    @model_serializer(mode="wrap")
    def _without_unset(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k in ("at", "event")}


class ClaimOutcome(_Model):
    """One claim's verdict on one example."""

    name: str
    verdict: str
    holds: bool
    summary: str
    #: Each item read back into its claim's class by its ``kind``.
    evidence: list[SerializeAsAny[EvidenceItem]]
    figures: dict[str, float]

    @field_validator("evidence", mode="before")
    @classmethod
    def _by_kind(cls, items: Any) -> Any:
        if not isinstance(items, list):
            return items  # pydantic says what is wrong with it
        return [read_evidence(item) if isinstance(item, dict) else item for item in items]


class ScenarioShape(_Model):
    name: str
    sites: int
    healthy: list[str]
    steps: list[dict[str, Any]]


class BoundsRecord(_Model):
    delivery: float
    recovery: float
    retry: float
    require_recovery: bool


class Example(_Model):
    """One example: the outage played, what happened, every claim's verdict."""

    scenario: ScenarioShape
    description: str
    holds: bool
    mta_died: str | None
    bounds: BoundsRecord
    claims: list[ClaimOutcome]
    broken_claim: str | None
    figures: dict[str, float]
    settlement: Settlement | None
    messages: list[Message]
    timeline: list[FaultEvent]
    queue_snapshots: list[QueueSnapshot]
    history: list[HistoryEvent]
    test: str = "?"
    logged_at: float | None = None

    def claim(self, name: str) -> ClaimOutcome | None:
        return next((c for c in self.claims if c.name == name), None)


class Counterexample(Example):
    """A failing example kept for its test and broken claim, with the failure in words."""

    explanation: str
    shrunk: bool
    file: str | None = None
    intermittent: str | None = None
    shrink_budget_ran_out: float | None = None


class ClaimVerdict(_Model):
    """One claim's verdict over the whole run."""

    name: str
    verdict: str
    counts: dict[str, int]
    figures: dict[str, float]


class Identity(_Model):
    name: str
    version: str
    config_digest: str
    image: str | None = None


class Canary(_Model):
    mta: str
    scenario: str
    verdict: str
    run: str


class Part(_Model):
    """One record merged into another: a shard of the search (``--shard K/N``, or one worker
    of ``certify -n N``), with the seed its search used and what it found."""

    #: None: the whole search (a worker of ``pytest -n N --dist load`` plays whole tests).
    shard: str | None
    seed: int | None
    run_id: str
    verdict: str
    examples_run: int


class Run(_Model):
    """A whole run record (``results.json``)."""

    run_id: str
    harness_version: str
    verdict: str
    partial: bool
    interrupted: bool
    mta: str
    identity: Identity | None
    backend: str
    #: How the MTA found the sites (``--routing``); records before it was a choice: static.
    routing: str = "static"
    profile: str | None
    bounds: BoundsRecord
    started: float
    finished: float | None
    worlds: list[str]
    tests: dict[str, str]
    errors: list[str]
    examples_run: int
    examples_judged: int
    unjudged: list[str]
    failing_examples: int
    claims: list[ClaimVerdict]
    counterexamples: dict[str, Counterexample]
    failures: dict[str, str]
    examples: list[Example]
    canary: Canary | None = None
    #: The part of the search this record covers (``2/3``); None: the whole search.
    shard: str | None = None
    #: The Hypothesis seed this record's search used; None for a merged record (see parts).
    seed: int | None = None
    #: The records merged into this one (``certify -n``, ``mta-harness merge``), in order.
    parts: list[Part] = []

    def claim(self, name: str) -> ClaimVerdict | None:
        return next((c for c in self.claims if c.name == name), None)

    def tls_deliveries(self) -> dict[str | None, int]:
        """Copies delivered to the sites, counted by the TLS version they came over (None:
        plain text): whether the MTA's TLS code path was tested at all."""
        counts: dict[str | None, int] = {}
        for example in self.examples:
            for message in example.messages:
                for arrival in message.arrivals:
                    counts[arrival.tls] = counts.get(arrival.tls, 0) + 1
        return counts

    def as_json(self) -> dict[str, Any]:
        """The record as results.json holds it."""
        return self.model_dump(mode="json")


def parse_run(data: Any, source: str) -> Run:
    """``data`` (a parsed results.json) as a :class:`Run`, or one clear UsageError."""
    try:
        return Run.model_validate(data)
    except ValidationError as exc:
        version = data.get("harness_version") if isinstance(data, dict) else None
        first = problems(exc)[0]
        raise UsageError(
            f"{source}: not a run record this harness (mta-harness {__version__}) can read"
            f" (written by {'mta-harness ' + str(version) if version else 'an older version'});"
            f" {dotted(first[0])}: {first[1]}"
        ) from None


def load_run(path: Path) -> Run:
    """Read a results.json; a missing, malformed or foreign file is one clear UsageError."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the run record: {exc}") from None
    return parse_run(data, str(path))
