"""Scenarios and the strategy that draws them."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings

from harness.faults import fault_kinds
from harness.scenario import Scenario
from harness.strategies import scenarios


@given(scenarios())
@settings(max_examples=200, deadline=None)
def test_drawn_scenarios_fault_a_non_empty_proper_subset(scenario: Scenario) -> None:
    assert 2 <= scenario.sites <= 6
    assert 1 <= len(scenario.faulted) < scenario.sites
    assert set(scenario.messages) == set(range(scenario.sites))  # every site gets mail
    assert 0 <= scenario.cut_after <= len(scenario.messages)


def test_the_simplest_scenario_is_the_seed_outage() -> None:
    simplest = find(scenarios(), lambda s: True)  # what shrinking converges to
    assert simplest == Scenario(2, ((0, fault_kinds()[0]),), (0, 1), 0)
    assert "link to site-a: blackhole" in simplest.describe()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sites": 7, "faults": (), "messages": ()}, "sites must be"),
        ({"sites": 2, "faults": ((2, "refuse"),), "messages": ()}, "fault on site 2"),
        ({"sites": 2, "faults": ((0, "melt"),), "messages": ()}, "unknown fault kind"),
        ({"sites": 2, "faults": (), "messages": (3,)}, "message to site 3"),
        ({"sites": 2, "faults": (), "messages": (0,), "cut_after": 2}, "cut_after"),
        # Vacuous: nothing faulted, every site faulted, or no mail to a healthy site.
        ({"sites": 2, "faults": (), "messages": (0, 1)}, "faults at least one link"),
        (
            {"sites": 2, "faults": ((0, "refuse"), (1, "refuse")), "messages": (0, 1)},
            "leave one healthy",
        ),
        ({"sites": 3, "faults": ((0, "refuse"),), "messages": (0, 0)}, "nothing to judge"),
    ],
)
def test_invalid_scenarios_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scenario(**kwargs)


def test_the_public_surface_resolves() -> None:
    import harness

    for name in harness.__all__:
        assert getattr(harness, name) is not None
    with pytest.raises(AttributeError):
        harness.nothing_here  # noqa: B018


def test_fault_events_pair_into_windows_and_open_ones_end_at_the_given_time() -> None:
    from harness.timeline import fault_windows

    events = [
        ("site-a", "blackhole", "apply", 1.0),
        ("site-b", "refuse", "apply", 2.0),
        ("site-a", "blackhole", "heal", 3.0),
        ("site-a", "reset", "apply", 4.0),
        ("site-c", "latency", "heal", 5.0),  # a heal with no fault before it: ignored
    ]
    assert fault_windows(events, 9.0) == [
        ("site-a", "blackhole", 1.0, 3.0),
        ("site-b", "refuse", 2.0, 9.0),
        ("site-a", "reset", 4.0, 9.0),
    ]


def test_the_control_sends_mail_only_and_the_lifted_replay_holds_its_faults() -> None:
    from harness.claims.pacing import ControlMail
    from harness.scenario import held_faults, links_up
    from harness.steps import Cut, Heal, Send, Trickle
    from harness.timeline import Outage

    outage = Outage(
        3,
        (
            Cut("site-a", "blackhole"),
            Send(("site-a", "site-b")),
            Heal("site-a", at=2.0),
            Cut("site-a", "refuse", at=3.0),
            Send(("site-b",), session=1),
            Heal("site-a", at=5.0),
        ),
    )
    mail = ControlMail(("site-a", "site-b", "site-b"), repeats=2, trickle=(("site-b", 101),))
    control = links_up(outage, mail)
    # The sends as they were, twice more on their own sessions, untimed; then the trickle.
    own = (Send(("site-a", "site-b")), Send(("site-b",), session=1))
    assert control.steps == own * 3 + (Trickle("site-b", 101),)
    assert links_up(outage).steps == own
    held = held_faults(outage)
    assert held.steps == (
        Cut("site-a", "blackhole"),
        Send(("site-a", "site-b")),
        Send(("site-b",), session=1),
    )
