"""``do = "heal"``: undo the fault on one link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.claims.base import Bounds
from harness.steps.base import FileModel, StepDefaults, TimelineState, register

if TYPE_CHECKING:
    from harness.world import Example


@dataclass(frozen=True)
class Heal(StepDefaults):
    """Undo the fault on the link to ``link``."""

    do: ClassVar[str] = "heal"
    link: str
    at: float | None = None

    def describe(self) -> str:
        return f"heal the link to {self.link}"

    def to_json(self) -> dict[str, Any]:
        return self._json(link=self.link)

    def names(self) -> list[tuple[str, str]]:
        return [("link", self.link)]

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        problems = []
        if self.link not in state.faulted:
            problems.append(("link", f"the link to {self.link} is not faulted at this step"))
        state.faulted.discard(self.link)
        return problems

    def touches(self) -> str | None:
        return self.link

    def play(self, example: Example, bounds: Bounds) -> None:
        example.heal(example.site_named(self.link))


@register("heal")
class HealFile(FileModel):
    do: Literal["heal"]
    link: str

    def to_step(self) -> Heal:
        return Heal(self.link, self.at)
