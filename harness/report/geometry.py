"""The latency plot's geometry, apart from its SVG: pure functions of one example's record.

Scales (time on x, log latency on y), ticks, fault windows, lanes and where each message's
mark goes, as plain numbers in the plot's pixel space (Jepsen's ``checker/perf`` keeps its
geometry apart from rendering in the same way). :mod:`harness.report.plot` only draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.faults import fault_layer
from harness.record import Example, Message
from harness.timeline import fault_windows

LEFT, RIGHT, TOP = 64, 16, 30
#: Height of one site's lane of fault bars under the axis.
LANE = 16
#: The lowest latency the log scale shows; anything faster sits on it.
Y_LOW = 1e-3


@dataclass(frozen=True)
class Window:
    """One fault on one site's link, in seconds and in pixels."""

    site: str
    kind: str
    start: float
    end: float
    x: float
    width: float
    #: Where the fault struck (``link``, ``tls``, ``dns``, ``site``): drawn apart.
    layer: str = "link"


@dataclass(frozen=True)
class Mark:
    """Where one message goes: its submission's start on x; its latency on y, or None for
    the "not delivered" strip at the top."""

    message: Message
    x: float
    y: float | None


@dataclass(frozen=True)
class Tick:
    value: float
    at: float


@dataclass(frozen=True)
class PlotGeometry:
    """Everything the latency plot draws, placed."""

    width: int
    height: int
    #: The last second on the time axis.
    x_max: float
    #: The latency at the top of the log scale (a power of ten).
    y_high: float
    plot_bottom: int
    #: The bound's line.
    bound: float
    bound_y: float
    windows: list[Window]
    #: Sites with a fault, one lane each, in order.
    lanes: list[str]
    marks: list[Mark]
    x_ticks: list[Tick]
    y_ticks: list[Tick]

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def layers(self) -> list[str]:
        """The layers its faults struck, in a fixed order (the plot's key lists them)."""
        present = {w.layer for w in self.windows}
        return [layer for layer in ("link", "site", "tls", "dns") if layer in present]

    def lane_top(self, lane: int) -> int:
        return self.plot_bottom + 36 + lane * LANE


def plot_geometry(example: Example, width: int = 900, height: int = 360) -> PlotGeometry:
    """Place ``example``'s messages, fault windows, scales and ticks on a plot of this size."""
    messages = example.messages
    bound = example.bounds.delivery
    times = [0.0]
    for m in messages:
        times += [t for t in (m.submitted_at, m.accepted_at) if t is not None]
        times += [a.at for a in m.arrivals] + list(m.bounces)
    times += [e.at for e in example.timeline]
    x_max = max(times) * 1.05 + 0.1
    events = ((e.site, e.kind, e.action, e.at) for e in example.timeline)
    spans = sorted(fault_windows(events, x_max), key=lambda w: (w[0], w[2]))
    lanes = sorted({site for site, *_ in spans})
    plot_bottom = height - 40 - LANE * len(lanes)
    latencies = [m.latency for m in messages if m.latency is not None]
    y_high = 10.0 ** math.ceil(math.log10(max([bound * 2, *latencies, 0.01])))

    def x(t: float) -> float:
        return LEFT + (width - LEFT - RIGHT) * t / x_max

    def y(latency: float) -> float:
        span = math.log10(y_high) - math.log10(Y_LOW)
        frac = (math.log10(max(latency, Y_LOW)) - math.log10(Y_LOW)) / span
        return plot_bottom - (plot_bottom - TOP - 24) * frac

    return PlotGeometry(
        width=width,
        height=height,
        x_max=x_max,
        y_high=y_high,
        plot_bottom=plot_bottom,
        bound=bound,
        bound_y=y(bound),
        windows=[
            Window(site, kind, start, end, x(start), max(1.0, x(end) - x(start)), fault_layer(kind))
            for site, kind, start, end in spans
        ],
        lanes=lanes,
        marks=[
            Mark(m, x(m.submitted_at), None if m.latency is None else y(m.latency))
            for m in messages
        ],
        x_ticks=[Tick(t, x(t)) for t in time_ticks(x_max)],
        y_ticks=[Tick(d, y(d)) for d in decades(Y_LOW, y_high)],
    )


def time_ticks(x_max: float, about: int = 8) -> list[float]:
    """About ``about`` round ticks from 0 to ``x_max`` (steps of 1, 2 or 5 times a power of
    ten)."""
    step = nice_step(x_max / about)
    count = int(x_max / step + 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def decades(low: float, high: float) -> list[float]:
    """Every power of ten from ``low`` to ``high``."""
    first, last = round(math.log10(low)), round(math.log10(high))
    return [10.0**e for e in range(first, last + 1)]


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 or 10 times a power of ten that is at least ``raw``."""
    magnitude = 10 ** math.floor(math.log10(max(raw, 1e-6)))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)
