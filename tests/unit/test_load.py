"""Outages under load (pure): the load step's file form, the healthy_throughput claim on
hand-made ledgers (it holds at a steady rate, breaks when the healthy rate falls or p99
passes the bound, and is not judged without a load), and the report's arrival rates."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.claims import Bounds, ExampleFacts, FaultWindow, Verdict
from harness.claims.throughput import HealthyThroughput, p99
from harness.ledger import Ledger
from harness.record import Message
from harness.report.throughput import arrival_rates
from harness.scenario_file import ScenarioError, parse_outage
from harness.steps.load import Load, at_rate

from ..conftest import example_record
from .test_claims import accepted, arrive

LOAD_FILE = Path(__file__).parents[2] / "fixtures" / "scenarios" / "load"


def loaded(
    healthy_delay: float = 0.05,
    stall: tuple[float, float] | None = None,
    rate: float = 10.0,
) -> ExampleFacts:
    """20 s of ``rate`` messages/s to site-a and site-b; site-a's link dead from 8 to 16 s.
    Healthy mail arrives ``healthy_delay`` after submission, or at the end of ``stall``
    when submitted inside it."""
    ledger = Ledger("e1")
    for n in range(int(20 * rate)):
        t = n / rate
        site = ("site-a", "site-b")[n % 2]
        rcpt = accepted(ledger, site, t)
        if site == "site-a" and 8 <= t < 16:
            continue  # held for its dead link
        lands = t + healthy_delay
        if stall is not None and stall[0] <= t < stall[1]:
            lands = stall[1]
        arrive(ledger, rcpt, site, lands)
    windows = [FaultWindow("site-a", "blackhole", 8.0, 16.0)]
    return ExampleFacts(ledger, Bounds(delivery=3.0), lambda: windows, loads=lambda: [(0, 20)])


def test_a_steady_healthy_rate_under_a_dead_link_holds() -> None:
    result = HealthyThroughput().judge(loaded())
    assert result.verdict is Verdict.HOLDS, result.summary
    assert result.figures["ratio"] == pytest.approx(1.0, abs=0.1)
    assert result.figures["baseline_rate"] == pytest.approx(5.0, abs=0.5)


def test_healthy_mail_held_behind_the_dead_link_breaks_it() -> None:
    # The seed's MTA: nothing healthy moves while site-a is dead.
    result = HealthyThroughput().judge(loaded(stall=(8.0, 16.0)))
    assert result.verdict is Verdict.BROKEN
    assert result.figures["ratio"] < 0.2 and "below 80%" in result.summary


def test_a_kept_rate_with_a_late_tail_breaks_it_on_p99() -> None:
    # Every healthy message arrives, at the same rate, but 4 s late: over the 3 s bound.
    result = HealthyThroughput().judge(loaded(healthy_delay=4.0))
    assert result.verdict is Verdict.BROKEN and "p99 over" in result.summary


def test_without_a_load_or_a_fault_it_is_not_judged() -> None:
    ledger = Ledger("e1")
    plain = ExampleFacts(ledger, Bounds(), lambda: [FaultWindow("site-a", "blackhole", 0.0)])
    assert HealthyThroughput().judge(plain).verdict is Verdict.NOT_JUDGED
    no_fault = ExampleFacts(ledger, Bounds(), lambda: [], loads=lambda: [(0.0, 20.0)])
    assert HealthyThroughput().judge(no_fault).verdict is Verdict.NOT_JUDGED
    early = ExampleFacts(
        ledger,
        Bounds(),
        lambda: [FaultWindow("site-a", "blackhole", 1.5, 9.0)],
        loads=lambda: [(0.0, 20.0)],
    )
    result = HealthyThroughput().judge(early)  # 0.5 s of baseline: no rate to compare
    assert result.verdict is Verdict.NOT_JUDGED and "before the first fault" in result.summary


def test_p99_is_nearest_rank_and_never_arrived_is_the_largest() -> None:
    assert p99([float(n) for n in range(1, 101)]) == 99.0
    assert p99([0.1] * 99 + [math.inf]) == 0.1
    assert p99([0.1] * 98 + [math.inf] * 2) == math.inf


def test_the_shipped_load_scenario_parses_and_plays_at_another_rate() -> None:
    from harness.scenario_file import load_outage

    (path,) = sorted(LOAD_FILE.glob("*.toml"))
    outage = load_outage(path)
    (load,) = [s for s in outage.steps if isinstance(s, Load)]
    assert outage.healthy == {"site-b", "site-c"}
    faster = [s for s in at_rate(outage.steps, 50.0) if isinstance(s, Load)]
    assert faster[0].rate == 50.0 and faster[0].duration == load.duration
    assert at_rate(outage.steps, None) == outage.steps


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("rate = 0.0", "rate"),
        ("rate = 9000.0", "rate"),
        ('rate = "fast"', "rate"),
        ("sessions = 0", "sessions"),
    ],
)
def test_a_bad_load_step_is_named_with_its_line(line: str, message: str) -> None:
    text = (LOAD_FILE / "dead-link-under-load.toml").read_text()
    field = line.split(" =")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{field} =")]
    at = lines.index('do = "load"')
    lines.insert(at + 1, line)
    with pytest.raises(ScenarioError, match=message):
        parse_outage("\n".join(lines), "bad.toml")


def message(n: int, site: str, arrivals: list[float]) -> Message:
    return Message.model_validate(
        {
            "id": f"m{n}",
            "site": site,
            "rcpt": f"m{n}@{site}.test",
            "status": "delivered" if arrivals else "queued",
            "submitted_at": 0.0,
            "accepted_at": 0.0,
            "refusal": None,
            "latency": arrivals[0] if arrivals else None,
            "arrivals": [{"site": site, "at": at, "connection": "c"} for at in arrivals],
            "bounces": [],
        }
    )


def test_arrival_rates_count_first_arrivals_per_second_per_site() -> None:
    assert arrival_rates(example_record()) == {}
    messages = [
        message(1, "site-a", [0.2]),
        message(2, "site-a", [0.7, 2.5]),  # a duplicate: counted once, at its first arrival
        message(3, "site-b", [2.1]),
        message(4, "site-b", []),  # never arrived
    ]
    example = example_record().model_copy(update={"messages": messages})
    assert arrival_rates(example) == {"site-a": [2, 0, 0], "site-b": [0, 0, 1]}
