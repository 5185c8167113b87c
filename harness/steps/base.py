"""The timeline Step extension point: one class per kind of step, registered by its tag.

A step kind owns everything about itself: its scenario-file form (a pydantic model whose
``do`` is the kind's tag), its checks, its JSON, how it reads in words and how it is played.
A new kind is one new module in this package with a :func:`register` call; nothing else in
the harness names step kinds, and a tag nobody registered is an error, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from harness.claims.base import Bounds

if TYPE_CHECKING:
    from harness.world import Example

#: A step's ``at``: seconds after the example started.
Seconds = Annotated[float, Field(ge=0, le=3600)]


class FileModel(BaseModel):
    """Base of a step's scenario-file form: strict (``"3"`` is no number), no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid")

    at: Seconds | None = None

    def to_step(self) -> Step:
        """The step this table describes."""
        raise NotImplementedError

    def problems(self) -> list[tuple[str, str]]:
        """What a schema cannot see in this table alone: (field, what is wrong)."""
        return []


@dataclass
class TimelineState:
    """What the checks know at one step: links faulted and sites misbehaving so far."""

    faulted: set[str] = field(default_factory=set)
    sick: set[str] = field(default_factory=set)


class Step(Protocol):
    """One step of an outage's timeline."""

    #: The step's tag in a scenario file (``do = "..."``).
    do: ClassVar[str]

    @property
    def at(self) -> float | None:
        """Seconds after the example started at which it runs; None: right after the one
        before."""

    def timed(self, at: float | None) -> Step:
        """The same step, run at ``at``."""

    def describe(self) -> str:
        """The step in words, as a failure report prints it."""

    def to_json(self) -> dict[str, Any]:
        """The step as a scenario file writes it, ``do`` and ``at`` included."""

    def names(self) -> list[tuple[str, str]]:
        """The sites it names, as (field, site name), checked against the topology."""

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        """Problems given what came before, as (field, message); then update ``state``."""

    def touches(self) -> str | None:
        """The site whose link or server it faults or heals, if any."""

    def faults(self) -> str | None:
        """The site it starts faulting, if any."""

    def mail(self) -> tuple[str, ...]:
        """The sites it sends a message to, one per message."""

    @property
    def waits_for_mail(self) -> bool:
        """Whether it runs only once every message sent before it was answered."""

    def play(self, example: Example, bounds: Bounds) -> None:
        """Carry it out in a running example."""


class StepDefaults:
    """What most steps do about the parts of the protocol that do not concern them (mixed
    into a frozen dataclass with an ``at`` field)."""

    at: float | None

    def timed(self, at: float | None) -> Step:
        return replace(self, at=at)  # type: ignore[type-var,return-value]

    def touches(self) -> str | None:
        return None

    def faults(self) -> str | None:
        return None

    def mail(self) -> tuple[str, ...]:
        return ()

    @property
    def waits_for_mail(self) -> bool:
        return True

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        return []

    def _json(self, **fields: Any) -> dict[str, Any]:
        """``fields`` in a file's order: ``at`` first when set, then ``do``."""
        head: dict[str, Any] = {} if self.at is None else {"at": self.at}
        return {**head, "do": type(self).do, **fields}  # type: ignore[attr-defined]


#: Tag -> the file model of that step kind.
FILE_MODELS: dict[str, type[FileModel]] = {}


def register(tag: str) -> Callable[[type[FileModel]], type[FileModel]]:
    """Register a step kind's file model under its tag (``do = "<tag>"``)."""

    def add(model: type[FileModel]) -> type[FileModel]:
        if tag in FILE_MODELS:
            raise ValueError(f"step kind {tag!r} is registered twice")
        FILE_MODELS[tag] = model
        return model

    return add
