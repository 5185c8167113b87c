"""The latency timeline, drawn as inline SVG (no script, no network): Jepsen's latency graph
for mail.

Each message is a dot at the moment its submission began (x) and how long it took from then
to arrive (y, log scale), one colour per site. Each link's fault windows are shaded across the
plot in that site's colour and drawn again as a labelled bar in a lane under the axis. A
message that never arrived sits in the "not delivered" strip at the top. The dashed line is
the bound.
"""

from __future__ import annotations

import math
from html import escape

from harness.record import Example, Message
from harness.timeline import fault_windows

#: One colour per site (Tableau 10, colour-blind friendly), in site order.
SITE_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
SHADE_OPACITY = 0.16
LEFT, RIGHT, TOP = 64, 16, 30
LANE = 16


def site_colour(site: str) -> str:
    """``site-a`` .. ``site-f`` get fixed colours; anything else grey."""
    if site.startswith("site-") and len(site) == 6:
        index = ord(site[-1]) - ord("a")
        if 0 <= index < len(SITE_COLOURS):
            return SITE_COLOURS[index]
    return "#7f7f7f"


def example_windows(example: Example, end: float) -> list[tuple[str, str, float, float]]:
    """(site, fault kind, start, end) for every fault in the example, by site then start;
    open ones end at ``end``."""
    events = ((e.site, e.kind, e.action, e.at) for e in example.timeline)
    return sorted(fault_windows(events, end), key=lambda w: (w[0], w[2]))


def latency_plot(example: Example, width: int = 900, height: int = 360) -> str:
    """The example's latency timeline as an ``<svg>`` element."""
    messages = example.messages
    bound = example.bounds.delivery
    times = [0.0]
    for m in messages:
        times += [t for t in (m.submitted_at, m.accepted_at) if t is not None]
        times += [a.at for a in m.arrivals] + list(m.bounces)
    times += [e.at for e in example.timeline]
    x_max = max(times) * 1.05 + 0.1
    windows = example_windows(example, x_max)
    lanes = sorted({w[0] for w in windows})
    plot_bottom = height - 40 - LANE * len(lanes)
    latencies = [m.latency for m in messages if m.latency is not None]
    y_lo = 1e-3
    y_hi = 10 ** math.ceil(math.log10(max([bound * 2, *latencies, 0.01])))

    def x(t: float) -> float:
        return LEFT + (width - LEFT - RIGHT) * t / x_max

    def y(latency: float) -> float:
        frac = (math.log10(max(latency, y_lo)) - math.log10(y_lo)) / (
            math.log10(y_hi) - math.log10(y_lo)
        )
        return plot_bottom - (plot_bottom - TOP - 24) * frac

    out = [
        f'<svg class="latency-plot" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="delivery latency over time">',
        f'<rect x="{LEFT}" y="{TOP}" width="{width - LEFT - RIGHT}" '
        f'height="{plot_bottom - TOP}" fill="#ffffff" stroke="#999"/>',
    ]
    for site, kind, start, end in windows:
        colour = site_colour(site)
        out.append(
            f'<rect class="fault-window" data-site="{escape(site)}" x="{x(start):.1f}" '
            f'y="{TOP}" width="{max(1.0, x(end) - x(start)):.1f}" height="{plot_bottom - TOP}" '
            f'fill="{colour}" fill-opacity="{SHADE_OPACITY}"><title>{escape(site)}: '
            f"{escape(kind)} from {start:.2f} s to {end:.2f} s</title></rect>"
        )
    # Axes: log ticks on y, about eight ticks on x.
    decade = y_lo
    while decade <= y_hi * 1.001:
        yy = y(decade)
        label = f"{decade:g} s"
        out.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke="#e5e5e5"/><text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" '
            f'font-size="11">{label}</text>'
        )
        decade *= 10
    step = _nice_step(x_max / 8)
    tick = 0.0
    while tick <= x_max:
        xx = x(tick)
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{plot_bottom}" y2="{plot_bottom + 4}" '
            f'stroke="#666"/><text x="{xx:.1f}" y="{plot_bottom + 16}" text-anchor="middle" '
            f'font-size="11">{tick:g}</text>'
        )
        tick += step
    out.append(
        f'<text x="{width - RIGHT}" y="{plot_bottom + 30}" text-anchor="end" font-size="11">'
        "seconds since the example started (submission began)</text>"
        f'<text x="14" y="{(TOP + plot_bottom) / 2:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + plot_bottom) / 2:.0f})">delivery latency</text>'
    )
    yb = y(bound)
    out.append(
        f'<line class="bound" x1="{LEFT}" x2="{width - RIGHT}" y1="{yb:.1f}" y2="{yb:.1f}" '
        f'stroke="#444" stroke-dasharray="6 4"/><text x="{width - RIGHT - 4}" y="{yb - 4:.1f}" '
        f'text-anchor="end" font-size="11">bound {bound:g} s</text>'
        f'<text x="{LEFT + 4}" y="{TOP + 11}" font-size="10" fill="#555">not delivered</text>'
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{TOP + 14}" y2="{TOP + 14}" '
        f'stroke="#ccc" stroke-dasharray="2 3"/>'
    )
    for m in messages:
        colour = site_colour(m.site)
        at = m.submitted_at
        tip = escape(_message_tip(m))
        if m.latency is None:
            out.append(
                f'<path class="undelivered" d="M{x(at) - 4:.1f},{TOP + 3} l8,8 m0,-8 l-8,8" '
                f'stroke="{colour}" stroke-width="2"><title>{tip}</title></path>'
            )
        else:
            out.append(
                f'<circle class="message" data-site="{escape(m.site)}" cx="{x(at):.1f}" '
                f'cy="{y(m.latency):.1f}" r="4" fill="{colour}" stroke="#000" '
                f'stroke-width="0.5"><title>{tip}</title></circle>'
            )
    for lane, site in enumerate(lanes):
        top = plot_bottom + 36 + lane * LANE
        out.append(
            f'<text x="{LEFT - 6}" y="{top + 10}" text-anchor="end" font-size="10">'
            f"{escape(site)}</text>"
        )
        for w_site, kind, start, end in windows:
            if w_site == site:
                out.append(
                    f'<rect class="fault-lane" x="{x(start):.1f}" y="{top}" '
                    f'width="{max(1.0, x(end) - x(start)):.1f}" height="{LANE - 4}" '
                    f'fill="{site_colour(site)}" fill-opacity="0.7"/>'
                    f'<text x="{x(start) + 3:.1f}" y="{top + 9}" font-size="9" fill="#fff">'
                    f"{escape(kind)}</text>"
                )
    out.append("</svg>")
    return "\n".join(out)


def legend(sites: list[str], faulted: set[str]) -> str:
    """HTML legend: a swatch per site, saying which ones had a faulted link."""
    items = []
    for site in sites:
        note = " (faulted)" if site in faulted else ""
        items.append(
            f'<span class="swatch" style="background:{site_colour(site)}"></span>'
            f"{escape(site)}{note}"
        )
    return '<div class="legend">' + " &nbsp; ".join(items) + "</div>"


def _message_tip(m: Message) -> str:
    if m.latency is not None:
        return f"{m.id} to {m.site}: arrived after {m.latency:.3f} s"
    return f"{m.id} to {m.site}: {m.status}"


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(max(raw, 1e-6)))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)
