"""``do = "trickle"``: a slow sender, one message at a time, each once the one before is in.

A sender that trickles mail lets an MTA carry it all over one connection it keeps open, so a
limit on messages per connection (OpenSMTPD hangs up after 100 and waits 3 to 5 s before it
reconnects) is met there. A burst spreads the same mail over several connections, and meets
it nowhere. The control of the seed's claim trickles for that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from harness.claims.base import Bounds
from harness.clock import Deadline, now
from harness.steps.base import FileModel, StepDefaults, register

if TYPE_CHECKING:
    from harness.ledger import MessageRecord
    from harness.world import Example

#: The most messages one trickle step may send (it takes about a second per ten).
MAX_TRICKLE = 400


@dataclass(frozen=True)
class Trickle(StepDefaults):
    """Submit ``count`` messages to site ``to``, one at a time: each once the one before
    arrived, bounced or was refused. If one has not within the recovery bound, the MTA has
    stopped delivering to that site, and the step ends there (the rest is never sent): what
    the MTA did is the claims' to judge, and the wait is bounded."""

    do: ClassVar[str] = "trickle"
    to: str
    count: int
    at: float | None = None

    def describe(self) -> str:
        return f"trickle {self.count} message(s) to {self.to}, each once the one before is in"

    def to_json(self) -> dict[str, Any]:
        return self._json(to=self.to, count=self.count)

    def names(self) -> list[tuple[str, str]]:
        return [("to", self.to)]

    def mail(self) -> tuple[str, ...]:
        return (self.to,) * self.count

    def play(self, example: Example, bounds: Bounds) -> None:
        site = example.site_named(self.to)
        for _ in range(self.count):
            record = example.submit(site)
            if not example.ledger.wait_until(settled(record.id), Deadline(now() + bounds.recovery)):
                return


def settled(message: str) -> Callable[[list[MessageRecord]], bool]:
    """A ledger predicate: message ``message`` arrived, bounced or was refused."""

    def holds(records: list[MessageRecord]) -> bool:
        return any(r.settled for r in records if r.id == message)

    return holds


@register("trickle")
class TrickleFile(FileModel):
    do: Literal["trickle"]
    to: str
    count: Annotated[int, Field(ge=1, le=MAX_TRICKLE)]

    def to_step(self) -> Trickle:
        return Trickle(self.to, self.count, self.at)
