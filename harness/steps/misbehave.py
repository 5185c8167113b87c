"""``do = "misbehave"``: a site itself answers badly at one SMTP stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from harness.claims.base import Bounds
from harness.sites.protocol import Behaviour
from harness.steps.base import FileModel, StepDefaults, TimelineState, register

if TYPE_CHECKING:
    from harness.world import Example


@dataclass(frozen=True)
class Misbehave(StepDefaults):
    """Make the site itself answer badly at one SMTP stage."""

    do: ClassVar[str] = "misbehave"
    site: str
    behaviour: Behaviour
    at: float | None = None

    def describe(self) -> str:
        return f"{self.site} {self.behaviour.describe()}"

    def to_json(self) -> dict[str, Any]:
        b = self.behaviour
        extra: dict[str, Any] = {}
        if b.code is not None:
            extra["code"] = b.code
        if b.delay:
            extra["delay"] = b.delay
        if b.drop:
            extra["drop"] = True
        return self._json(site=self.site, stage=b.stage, **extra)

    def names(self) -> list[tuple[str, str]]:
        return [("site", self.site)]

    def check(self, state: TimelineState) -> list[tuple[str, str]]:
        state.sick.add(self.site)
        return []

    def touches(self) -> str | None:
        return self.site

    def faults(self) -> str | None:
        return self.site

    def play(self, example: Example, bounds: Bounds) -> None:
        example.misbehave(example.site_named(self.site), self.behaviour)


@register("misbehave")
class MisbehaveFile(FileModel):
    do: Literal["misbehave"]
    site: str
    stage: Literal["STARTTLS", "MAIL", "RCPT", "DATA"]
    code: Annotated[int, Field(ge=400, le=599)] | None = None
    delay: Annotated[float, Field(ge=0, le=600)] = 0.0
    drop: bool = False

    def behaviour(self) -> Behaviour:
        return Behaviour(self.stage, code=self.code, delay=self.delay, drop=self.drop)

    def to_step(self) -> Misbehave:
        return Misbehave(self.site, self.behaviour(), self.at)

    def problems(self) -> list[tuple[str, str]]:
        try:
            self.behaviour()
        except ValueError as exc:
            return [("stage", str(exc))]
        return []
