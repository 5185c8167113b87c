"""``do = "send"``: submit messages over one SMTP session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from harness.claims.base import Bounds
from harness.steps.base import FileModel, StepDefaults, register

if TYPE_CHECKING:
    from harness.world import Example

#: Submission sessions an outage may use at once (``Send.session`` is 0..MAX_SESSIONS-1).
MAX_SESSIONS = 4


@dataclass(frozen=True)
class Send(StepDefaults):
    """Submit one message to each site named in ``to``, in that order, over SMTP session
    ``session``. Consecutive sends on different sessions run at the same time; any other
    step waits until every message sent before it was answered."""

    do: ClassVar[str] = "send"
    to: tuple[str, ...]
    at: float | None = None
    session: int = 0

    def describe(self) -> str:
        over = f" (session {self.session})" if self.session else ""
        return f"send to {', '.join(self.to)}{over}"

    def to_json(self) -> dict[str, Any]:
        return self._json(to=list(self.to), **({"session": self.session} if self.session else {}))

    def names(self) -> list[tuple[str, str]]:
        return [("to", name) for name in self.to]

    def mail(self) -> tuple[str, ...]:
        return self.to

    @property
    def waits_for_mail(self) -> bool:
        return False

    def play(self, example: Example, bounds: Bounds) -> None:
        for name in self.to:
            example.send(example.site_named(name), self.session)


@register("send")
class SendFile(FileModel):
    do: Literal["send"]
    to: Annotated[list[str], Field(min_length=1, max_length=200)]
    session: Annotated[int, Field(ge=0, lt=MAX_SESSIONS)] = 0

    def to_step(self) -> Send:
        return Send(tuple(self.to), self.at, self.session)
