"""``do = "load"``: sustained mail, as a busy sender makes it, while links die and heal.

``rate`` messages a second for ``duration`` seconds, spread over ``sessions`` SMTP sessions
at once and over the sites named in ``to`` in turn. The
load runs beside the rest of the timeline: the step returns at once, and later steps (a
fault at 10 s, its heal at 20 s) happen while the mail flows. The example waits for the load
to end, and every message it sent to be answered, before anything is judged.

The load is open: a message is due at its time whatever became of the ones before, as mail
from many users is. A session the MTA answers slowly falls behind; the message then starts
late, and its latency counts from its own start (``Submitter.submit``), while the shortfall
shows as fewer messages submitted (``healthy_throughput`` judges what arrived).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from harness.claims.base import Bounds
from harness.clock import Deadline, now
from harness.steps.base import FileModel, StepDefaults, register

if TYPE_CHECKING:
    from harness.topology import Site
    from harness.workload import Session
    from harness.world import Example

#: The most messages a second a load may ask for; what an MTA sustains here is far below
#: (docs/performance.md), and the harness's own submitters are threads of one process.
MAX_RATE = 500.0
#: The longest load, in seconds.
MAX_DURATION = 600.0
#: The most SMTP sessions a load may use at once.
MAX_LOAD_SESSIONS = 32


@dataclass(frozen=True)
class Load(StepDefaults):
    """``rate`` messages a second for ``duration`` seconds over ``sessions`` sessions, to the
    sites in ``to`` in turn, in the background."""

    do: ClassVar[str] = "load"
    to: tuple[str, ...]
    rate: float
    duration: float
    sessions: int = 4
    at: float | None = None

    def describe(self) -> str:
        return (
            f"load: {self.rate:g} messages/s for {self.duration:g} s to {', '.join(self.to)} over "
            f"{self.sessions} sessions"
        )

    def to_json(self) -> dict[str, Any]:
        return self._json(
            to=list(self.to), rate=self.rate, duration=self.duration, sessions=self.sessions
        )

    def names(self) -> list[tuple[str, str]]:
        return [("to", name) for name in self.to]

    def mail(self) -> tuple[str, ...]:
        count = int(self.rate * self.duration)
        return tuple(self.to[n % len(self.to)] for n in range(count))

    @property
    def waits_for_mail(self) -> bool:
        return False

    def with_rate(self, rate: float) -> Load:
        """The same load at ``rate`` messages a second (``certify --load RATE``)."""
        return Load(self.to, rate, self.duration, self.sessions, self.at)

    def play(self, example: Example, bounds: Bounds) -> None:
        sites = [example.site_named(name) for name in self.to]
        example.run_in_background(LoadRun(example, self, sites))


def at_rate(steps: tuple[Any, ...], rate: float | None) -> tuple[Any, ...]:
    """``steps`` with every load at ``rate`` messages a second (None: as they are)."""
    if rate is None:
        return steps
    return tuple(step.with_rate(rate) if isinstance(step, Load) else step for step in steps)


class LoadRun:
    """A load being played: a pacing thread handing each message to its session on time."""

    def __init__(self, example: Example, load: Load, sites: list[Site]) -> None:
        self.load = load
        self.sites = sites
        self.sessions: list[Session] = [example.new_session() for _ in range(load.sessions)]
        self.started = now()
        self.ended: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pace, name="load", daemon=True)
        self._thread.start()

    def _pace(self) -> None:
        interval = 1.0 / self.load.rate
        count = int(self.load.rate * self.load.duration)
        try:
            for n in range(count):
                due = Deadline(self.started + n * interval)
                if self._stop.wait(due.remaining()):
                    return
                site = self.sites[n % len(self.sites)]
                self.sessions[n % len(self.sessions)].send(site)
        finally:
            self.ended = now()

    def wait(self) -> None:
        """Return once the load ended and each of its messages was answered."""
        self._thread.join()
        for session in self.sessions:
            session.wait()

    def window(self) -> tuple[float, float]:
        """When the load ran (its end: now, while it runs)."""
        return self.started, self.ended if self.ended is not None else now()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for session in self.sessions:
            session.close()


@register("load")
class LoadFile(FileModel):
    do: Literal["load"]
    rate: Annotated[float, Field(gt=0, le=MAX_RATE)]
    duration: Annotated[float, Field(gt=0, le=MAX_DURATION)]
    sessions: Annotated[int, Field(ge=1, le=MAX_LOAD_SESSIONS)] = 4
    to: Annotated[list[str], Field(min_length=1, max_length=26)]

    def to_step(self) -> Load:
        return Load(tuple(self.to), self.rate, self.duration, self.sessions, self.at)
