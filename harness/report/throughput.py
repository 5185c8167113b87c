"""Throughput over time, for examples under sustained load: messages arriving at each site per
second, one line per site, the fault windows shaded. Inline SVG, no script, no network.

:func:`arrival_rates` is the data (pure, tested apart); :func:`throughput_plot` draws it.
"""

from __future__ import annotations

import math
from html import escape

from harness.record import Example
from harness.report.geometry import nice_step
from harness.report.plot import SHADE_OPACITY, SITE_COLOURS

#: The claim whose examples get this plot: it judges them by rate.
LOAD_CLAIM = "healthy_throughput"


def under_load(example: Example) -> bool:
    """Whether ``example`` ran a load its throughput was judged by."""
    claim = example.claim(LOAD_CLAIM)
    return claim is not None and claim.verdict != "not judged"


def arrival_rates(example: Example, step: float = 1.0) -> dict[str, list[int]]:
    """First arrivals per ``step`` seconds at each site the example sent to, from its start
    to its last arrival, in site order."""
    firsts = [(m.site, min(a.at for a in m.arrivals)) for m in example.messages if m.arrivals]
    sites = sorted({m.site for m in example.messages})
    end = max((at for _, at in firsts), default=0.0)
    bins = max(1, math.ceil(end / step))
    rates = {site: [0] * bins for site in sites}
    for site, at in firsts:
        rates[site][min(bins - 1, int(at / step))] += 1
    return rates


def fault_spans(example: Example) -> list[tuple[str, float, float]]:
    """(site, start, end) of each fault; one never healed ends at the last event."""
    end = max((e.at for e in example.timeline), default=0.0)
    spans, open_ = [], {}
    for event in example.timeline:
        if event.action == "apply":
            open_[event.site] = event.at
        elif event.site in open_:
            spans.append((event.site, open_.pop(event.site), event.at))
    return spans + [(site, start, end) for site, start in open_.items()]


def throughput_plot(example: Example, width: int = 860, height: int = 240) -> str:
    """The example's arrivals per second per site as an SVG line plot."""
    rates = arrival_rates(example)
    sites = list(rates)
    bins = max(len(series) for series in rates.values()) if rates else 1
    top = max((max(series) for series in rates.values() if series), default=1) or 1
    left, right, upper, lower = 48, 12, 12, 28
    plot_w, plot_h = width - left - right, height - upper - lower
    y_step = nice_step(top / 4)
    y_max = y_step * math.ceil(top / y_step)

    def x(t: float) -> float:
        return left + plot_w * t / bins

    def y(v: float) -> float:
        return upper + plot_h * (1 - v / y_max)

    parts = [
        f'<svg class="throughput" width="{width}" height="{height}" role="img" '
        'aria-label="messages arriving per second at each site">'
    ]
    names = sorted({m.site for m in example.messages})
    for site, start, end in fault_spans(example):
        colour = SITE_COLOURS[names.index(site) % len(SITE_COLOURS)] if site in names else "#888"
        parts.append(
            f'<rect x="{x(start):.1f}" y="{upper}" width="{max(1.0, x(end) - x(start)):.1f}" '
            f'height="{plot_h}" fill="{colour}" fill-opacity="{SHADE_OPACITY}">'
            f"<title>{escape(site)} faulted {start:.1f}-{end:.1f} s</title></rect>"
        )
    tick = y_step
    value = 0.0
    while value <= y_max + 1e-9:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{value:g}</text>'
        )
        value += tick
    x_step = nice_step(bins / 8)
    t = 0.0
    while t <= bins + 1e-9:
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - 10}" text-anchor="middle" '
            f'font-size="11">{t:g} s</text>'
        )
        t += x_step
    for site in sites:
        colour = SITE_COLOURS[names.index(site) % len(SITE_COLOURS)]
        points = " ".join(f"{x(i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(rates[site]))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{escape(site)}: messages arriving per second</title></polyline>"
        )
    parts.append("</svg>")
    key = " ".join(
        f'<span style="color:{SITE_COLOURS[i % len(SITE_COLOURS)]}">&#9632; {escape(s)}</span>'
        for i, s in enumerate(names)
    )
    return f"<p>{key} &mdash; messages arriving per second; shaded: a fault</p>" + "".join(parts)
