"""Typed claim evidence: each item a small model of its own kind, written by one claim and
read back by kind from ``results.json``.

A claim module defines its items as :class:`EvidenceItem` subclasses with a literal ``kind``
and registers them with :func:`evidence_kind`; the run record (:mod:`harness.record`) reads
each stored item back into its class with :func:`read_evidence`, so the failure in words, the
report and the certificate read fields, not string keys shared across modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class EvidenceItem(BaseModel):
    """One item of a claim's evidence (a message that waited, a copy too many, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str

    def cells(self) -> dict[str, Any]:
        """The item's fields by name, for a table or a line of text (``kind`` apart)."""
        return self.model_dump(exclude={"kind"})

    def words(self) -> str | None:
        """The item as a sentence, for the failure in words (None: its cells will do)."""
        return None


class QueueHold(BaseModel):
    """What the MTA says of a recipient it still holds, in its own words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue_id: str
    reason: str
    #: Its last log lines about that queue id, joined with `` | ``.
    mta_log: str | None = None


class HeldItem(EvidenceItem):
    """Evidence about a message, with what the MTA's queue says of it where it still held it."""

    id: str
    site: str
    held: QueueHold | None = None

    def cells(self) -> dict[str, Any]:
        """As :meth:`EvidenceItem.cells`, with the queue's words as columns of their own."""
        cells = super().cells()
        cells.pop("held")
        return cells | (self.held.model_dump() if self.held is not None else {})


_KINDS: dict[str, type[EvidenceItem]] = {}
_Item = TypeVar("_Item", bound=type[EvidenceItem])


def evidence_kind(cls: _Item) -> _Item:
    """Register an evidence class under its ``kind`` (the field's default) for reading back."""
    kind = cls.model_fields["kind"].default  # type: ignore[call-overload]  # pydantic 2.11+
    if not isinstance(kind, str):
        raise TypeError(f"{cls.__name__}: an evidence class needs a literal default kind")
    if _KINDS.get(kind, cls) is not cls:
        raise ValueError(f"evidence kind {kind!r} is registered twice")
    _KINDS[kind] = cls
    return cls


def read_evidence(item: EvidenceItem | Mapping[str, Any]) -> EvidenceItem:
    """``item`` as the evidence class its ``kind`` names (ValueError for an unknown kind)."""
    if isinstance(item, EvidenceItem):
        return item
    import harness.claims  # noqa: F401  the shipped claims register their kinds on import

    kind = item.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown kind of evidence {kind!r}; known: {', '.join(sorted(_KINDS))}")
    return cls.model_validate(item)
