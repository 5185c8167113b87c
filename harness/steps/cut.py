"""``do = "fault"``: apply a registered fault to one link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from harness.claims.base import Bounds
from harness.faults import fault_kinds, make_fault
from harness.steps.base import FileModel, StepDefaults, TimelineState, register

if TYPE_CHECKING:
    from harness.world import Example


@dataclass(frozen=True)
class Cut(StepDefaults):
    """Apply a fault (a registered kind) to the link to ``link``."""

    do: ClassVar[str] = "fault"
    link: str
    fault: str
    at: float | None = None
    #: The fault's own time where it has one (latency: each reply's delay), in seconds;
    #: default the delivery bound.
    seconds: float | None = None

    def describe(self) -> str:
        size = f" ({self.seconds:g} s)" if self.seconds is not None else ""
        return f"{self.fault}{size} on the link to {self.link}"

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.seconds is None else {"seconds": self.seconds}
        return self._json(link=self.link, fault=self.fault, **extra)

    def names(self) -> list[tuple[str, str]]:
        return [("link", self.link)]

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        problems = []
        if self.link in state.faulted:
            problems.append(("link", f"the link to {self.link} is already faulted: heal it first"))
        state.faulted.add(self.link)
        return problems

    def touches(self) -> str | None:
        return self.link

    def faults(self) -> str | None:
        return self.link

    def play(self, example: Example, bounds: Bounds) -> None:
        fault = make_fault(self.fault, self.seconds or bounds.delivery)
        example.apply(example.site_named(self.link), fault)


@register("fault")
class CutFile(FileModel):
    do: Literal["fault"]
    link: str
    fault: str
    seconds: Annotated[float, Field(gt=0, le=600)] | None = None

    def to_step(self) -> Cut:
        return Cut(self.link, self.fault, self.at, self.seconds)

    def problems(self) -> list[tuple[str, str]]:
        kinds = fault_kinds()
        if self.fault in kinds:
            return []
        return [("fault", f"expected a fault kind ({', '.join(kinds)}), got {self.fault!r}")]
