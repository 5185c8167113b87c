"""The latency plot's geometry is pure data: scales, ticks, windows and marks, placed."""

from __future__ import annotations

import math

import pytest

from harness.record import Arrival, Example, FaultEvent, Message
from harness.report.geometry import decades, nice_step, plot_geometry, time_ticks

from ..conftest import example_record


def message(id: str, site: str, submitted: float, latency: float | None) -> Message:
    arrived = (
        [] if latency is None else [Arrival(site=site, at=submitted + latency, connection="c")]
    )
    return Message(
        id=id,
        site=site,
        rcpt=f"{id}@{site}.test",
        status="pending" if latency is None else "delivered",
        submitted_at=submitted,
        accepted_at=submitted,
        refusal=None,
        latency=latency,
        arrivals=arrived,
        bounces=[],
    )


def example(messages: list[Message], timeline: list[FaultEvent]) -> Example:
    return example_record().model_copy(update={"messages": messages, "timeline": timeline})


def fault(site: str, action: str, at: float) -> FaultEvent:
    return FaultEvent(at=at, site=site, kind="blackhole", action=action)


def test_latency_is_on_a_log_scale_and_the_bound_where_such_a_message_would_sit() -> None:
    marks = [
        message("m1", "site-b", 0.0, 0.01),
        message("m2", "site-b", 1.0, 0.1),
        message("m3", "site-b", 2.0, 1.0),
        message("m4", "site-b", 3.0, 3.0),  # the default bound, 3 s
    ]
    g = plot_geometry(example(marks, []))
    ys = [m.y for m in g.marks]
    assert all(y is not None for y in ys)
    y1, y2, y3, y4 = (float(y) for y in ys if y is not None)
    assert y1 > y2 > y3  # slower is higher up the page (smaller y)
    assert math.isclose(y1 - y2, y2 - y3)  # each decade is as tall as the next
    assert math.isclose(g.bound_y, y4)
    assert [m.x for m in g.marks] == sorted(m.x for m in g.marks)  # placed by submission


def test_mail_never_delivered_goes_in_the_top_strip_and_open_faults_run_to_the_end() -> None:
    g = plot_geometry(
        example(
            [message("m1", "site-a", 0.5, None), message("m2", "site-b", 1.0, 0.2)],
            [
                fault("site-a", "apply", 0.2),
                fault("site-c", "apply", 0.4),
                fault("site-c", "heal", 2),
            ],
        )
    )
    assert g.marks[0].y is None and g.marks[1].y is not None
    assert g.lanes == ["site-a", "site-c"]
    open_window = next(w for w in g.windows if w.site == "site-a")
    assert open_window.end == g.x_max and math.isclose(open_window.x + open_window.width, g.right)
    healed = next(w for w in g.windows if w.site == "site-c")
    assert (healed.start, healed.end) == (0.4, 2.0)
    # One lane per faulted site under the axis, and the plot shrinks to make room.
    assert g.lane_top(1) - g.lane_top(0) == 16 and g.plot_bottom == g.height - 40 - 32


@pytest.mark.parametrize(
    ("x_max", "ticks"),
    [(9.0, [0.0, 2.0, 4.0, 6.0, 8.0]), (0.35, [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35])],
)
def test_time_ticks_are_round_numbers(x_max: float, ticks: list[float]) -> None:
    assert time_ticks(x_max) == pytest.approx(ticks)


def test_steps_and_decades() -> None:
    assert [nice_step(r) for r in (0.7, 1.2, 3.0, 7.0)] == [1.0, 2.0, 5.0, 10.0]
    assert decades(1e-3, 10.0) == pytest.approx([1e-3, 1e-2, 1e-1, 1.0, 10.0])


def test_each_layer_s_faults_are_drawn_apart_with_a_key_of_their_own() -> None:
    from harness.report.plot import render

    timeline = [
        FaultEvent(at=0.0, site="site-a", kind="blackhole", action="apply"),
        FaultEvent(at=1.0, site="site-a", kind="blackhole", action="heal"),
        FaultEvent(at=0.0, site="site-b", kind="tls-stall", action="apply"),
        FaultEvent(at=2.0, site="site-b", kind="tls-stall", action="heal"),
        FaultEvent(at=0.5, site="site-c", kind="dns-timeout", action="apply"),
    ]
    g = plot_geometry(example([message("m1", "site-d", 0.0, 0.1)], timeline))
    assert {w.site: w.layer for w in g.windows} == {
        "site-a": "link",
        "site-b": "tls",
        "site-c": "dns",
    }
    assert g.layers == ["link", "tls", "dns"]
    svg = render(g, "x1")
    assert svg.count('fill="url(#x1-tls)"') == 2 and svg.count('fill="url(#x1-dns)"') == 2
    assert "hatched: a STARTTLS fault" in svg and "dotted: a DNS fault" in svg
    plain = render(plot_geometry(example([], timeline[:2])), "x2")
    assert "layer-key" not in plain and "url(#" not in plain  # link faults alone: no key
