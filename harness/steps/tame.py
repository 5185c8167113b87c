"""``do = "tame"``: a misbehaving site answers normally again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.claims.base import Bounds
from harness.steps.base import FileModel, StepDefaults, TimelineState, register

if TYPE_CHECKING:
    from harness.world import Example


@dataclass(frozen=True)
class Tame(StepDefaults):
    """The site answers normally again."""

    do: ClassVar[str] = "tame"
    site: str
    at: float | None = None

    def describe(self) -> str:
        return f"{self.site} answers normally again"

    def to_json(self) -> dict[str, Any]:
        return self._json(site=self.site)

    def names(self) -> list[tuple[str, str]]:
        return [("site", self.site)]

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        if self.site not in state.sick:
            return [("site", f"{self.site} does not misbehave at this step")]
        return []

    def touches(self) -> str | None:
        return self.site

    def play(self, example: Example, bounds: Bounds) -> None:
        example.tame(example.site_named(self.site))


@register("tame")
class TameFile(FileModel):
    do: Literal["tame"]
    site: str

    def to_step(self) -> Tame:
        return Tame(self.site, self.at)
