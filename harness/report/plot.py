"""The latency timeline, drawn as inline SVG (no script, no network): Jepsen's latency graph
for mail.

Each message is a dot at the moment its submission began (x) and how long it took from then
to arrive (y, log scale), one colour per site. Each link's fault windows are shaded across the
plot in that site's colour and drawn again as a labelled bar in a lane under the axis; a
fault in a site's STARTTLS is hatched, one in the run's DNS dotted, and a key above the plot
says so wherever such a fault is drawn. A
message that never arrived sits in the "not delivered" strip at the top. The dashed line is
the bound. Where everything goes is :mod:`harness.report.geometry`'s (pure, tested apart);
this module only draws it.
"""

from __future__ import annotations

from html import escape

from harness.record import Example, Message
from harness.report.geometry import LANE, LEFT, TOP, PlotGeometry, Window, plot_geometry

#: One colour per site (Tableau 10, colour-blind friendly), in site order.
SITE_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
SHADE_OPACITY = 0.16
#: How each layer's windows are told apart (beyond the site's colour), and what the key says.
LAYER_KEY = {
    "link": "solid: a link fault",
    "site": "solid: a misbehaving site",
    "tls": "hatched: a STARTTLS fault",
    "dns": "dotted: a DNS fault",
}
#: The overlays of the layers not drawn solid: an SVG pattern each (ids local to one plot).
LAYER_PATTERNS = {
    "tls": '<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000" '
    'stroke-opacity="0.45" stroke-width="2"/></pattern>',
    "dns": '<pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<circle cx="3" cy="3" r="1.3" fill="#000" fill-opacity="0.5"/></pattern>',
}


def site_colour(site: str) -> str:
    """``site-a`` .. ``site-f`` get fixed colours; anything else grey."""
    if site.startswith("site-") and len(site) == 6:
        index = ord(site[-1]) - ord("a")
        if 0 <= index < len(SITE_COLOURS):
            return SITE_COLOURS[index]
    return "#7f7f7f"


def latency_plot(example: Example, width: int = 900, height: int = 360, ident: str = "plot") -> str:
    """The example's latency timeline as an ``<svg>`` element; ``ident`` makes its
    pattern ids unique in a page of several plots."""
    return render(plot_geometry(example, width, height), ident)


def render(g: PlotGeometry, ident: str = "plot") -> str:
    """Draw a placed plot as SVG: nothing here computes where things go."""
    bottom, right = g.plot_bottom, g.right
    patterns = {layer: f"{ident}-{layer}" for layer in LAYER_PATTERNS if layer in g.layers}
    out = [
        f'<svg class="latency-plot" xmlns="http://www.w3.org/2000/svg" width="{g.width}" '
        f'height="{g.height}" viewBox="0 0 {g.width} {g.height}" role="img" '
        f'aria-label="delivery latency over time">',
        "<defs>"
        + "".join(LAYER_PATTERNS[layer].format(id=id) for layer, id in patterns.items())
        + "</defs>",
        f'<rect x="{LEFT}" y="{TOP}" width="{right - LEFT}" '
        f'height="{bottom - TOP}" fill="#ffffff" stroke="#999"/>',
    ]

    def overlay(w: Window, top: float, height: float) -> str:
        """The layer's pattern over window ``w``, for a layer not drawn solid."""
        if w.layer not in patterns:
            return ""
        return (
            f'<rect class="fault-layer" x="{w.x:.1f}" y="{top}" width="{w.width:.1f}" '
            f'height="{height}" fill="url(#{patterns[w.layer]})"/>'
        )

    for w in g.windows:
        out.append(
            f'<rect class="fault-window" data-site="{escape(w.site)}" '
            f'data-layer="{escape(w.layer)}" x="{w.x:.1f}" '
            f'y="{TOP}" width="{w.width:.1f}" height="{bottom - TOP}" '
            f'fill="{site_colour(w.site)}" fill-opacity="{SHADE_OPACITY}"><title>'
            f"{escape(w.site)}: {escape(w.kind)} from {w.start:.2f} s to {w.end:.2f} s"
            f"</title></rect>{overlay(w, TOP, bottom - TOP)}"
        )
    if patterns:  # the key: which shading is which layer, over the plot's top right
        key = "; ".join(LAYER_KEY[layer] for layer in g.layers)
        out.append(
            f'<text class="layer-key" x="{right}" y="{TOP - 8}" text-anchor="end" '
            f'font-size="11" fill="#333">{escape(key)}</text>'
        )
    for tick in g.y_ticks:
        out.append(
            f'<line x1="{LEFT}" x2="{right}" y1="{tick.at:.1f}" y2="{tick.at:.1f}" '
            f'stroke="#e5e5e5"/><text x="{LEFT - 6}" y="{tick.at + 4:.1f}" text-anchor="end" '
            f'font-size="11">{tick.value:g} s</text>'
        )
    for tick in g.x_ticks:
        out.append(
            f'<line x1="{tick.at:.1f}" x2="{tick.at:.1f}" y1="{bottom}" y2="{bottom + 4}" '
            f'stroke="#666"/><text x="{tick.at:.1f}" y="{bottom + 16}" text-anchor="middle" '
            f'font-size="11">{tick.value:g}</text>'
        )
    middle = (TOP + bottom) / 2
    out.append(
        f'<text x="{right}" y="{bottom + 30}" text-anchor="end" font-size="11">'
        "seconds since the example started (submission began)</text>"
        f'<text x="14" y="{middle:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.0f})">delivery latency</text>'
    )
    out.append(
        f'<line class="bound" x1="{LEFT}" x2="{right}" y1="{g.bound_y:.1f}" '
        f'y2="{g.bound_y:.1f}" stroke="#444" stroke-dasharray="6 4"/><text x="{right - 4}" '
        f'y="{g.bound_y - 4:.1f}" text-anchor="end" font-size="11">bound {g.bound:g} s</text>'
        f'<text x="{LEFT + 4}" y="{TOP + 11}" font-size="10" fill="#555">not delivered</text>'
        f'<line x1="{LEFT}" x2="{right}" y1="{TOP + 14}" y2="{TOP + 14}" '
        f'stroke="#ccc" stroke-dasharray="2 3"/>'
    )
    for mark in g.marks:
        m = mark.message
        colour = site_colour(m.site)
        tip = escape(_message_tip(m))
        if mark.y is None:
            out.append(
                f'<path class="undelivered" d="M{mark.x - 4:.1f},{TOP + 3} l8,8 m0,-8 l-8,8" '
                f'stroke="{colour}" stroke-width="2"><title>{tip}</title></path>'
            )
        else:
            out.append(
                f'<circle class="message" data-site="{escape(m.site)}" cx="{mark.x:.1f}" '
                f'cy="{mark.y:.1f}" r="4" fill="{colour}" stroke="#000" '
                f'stroke-width="0.5"><title>{tip}</title></circle>'
            )
    for lane, site in enumerate(g.lanes):
        top = g.lane_top(lane)
        out.append(
            f'<text x="{LEFT - 6}" y="{top + 10}" text-anchor="end" font-size="10">'
            f"{escape(site)}</text>"
        )
        for w in (w for w in g.windows if w.site == site):
            out.append(
                f'<rect class="fault-lane" x="{w.x:.1f}" y="{top}" width="{w.width:.1f}" '
                f'height="{LANE - 4}" fill="{site_colour(site)}" fill-opacity="0.7"/>'
                + overlay(w, top, LANE - 4)
                + f'<text x="{w.x + 3:.1f}" y="{top + 9}" font-size="9" fill="#fff">'
                f"{escape(w.kind)}</text>"
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
