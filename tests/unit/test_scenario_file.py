"""Scenario files: the shipped library is valid, malformed files get one clear message
naming file, line, field and expectation (exit 2, nothing started), and a file written by the
harness reads back as the same outage."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.claims import Bounds
from harness.cli import main
from harness.scenario import Scenario
from harness.scenario_file import SCENARIOS, dump_outage, find_line, load_outage, parse_outage
from harness.timeline import Cut, Heal, Send

GOOD = """\
name = "good"

[topology]
sites = 3

[expect]
bound = 3.0

[[timeline]]
at = 0.0
do = "fault"
link = "site-a"
fault = "blackhole"

[[timeline]]
at = 0.5
do = "send"
to = ["site-a", "site-b"]

[[timeline]]
at = 2.0
do = "heal"
link = "site-a"
"""

#: (name, how to break GOOD, line the message must name or None, what it must say)
MALFORMED: list[tuple[str, tuple[str, str], int | None, str]] = [
    ("toml-syntax", ('name = "good"', 'name = "good'), 1, "not valid TOML"),
    ("no-topology", ("[topology]\nsites = 3\n", ""), None, "topology: required field is missing"),
    ("zero-sites", ("sites = 3", "sites = 0"), 4, "topology.sites: Input should be greater"),
    ("sites-as-text", ("sites = 3", 'sites = "three"'), 4, "valid integer, got 'three'"),
    ("typo-key", ("bound = 3.0", "bound = 3.0\nbund = 2"), 8, "expect.bund: unknown field"),
    ("bound-as-text", ("bound = 3.0", 'bound = "3"'), 7, "expect.bound: Input should be a valid"),
    ("negative-bound", ("bound = 3.0", "bound = -1"), 7, "expect.bound: Input should be greater"),
    ("unknown-do", ('do = "send"', 'do = "explode"'), 17, "timeline[2].do: expected one of"),
    ("missing-do", ('do = "heal"\n', ""), 20, "timeline[3]: every step needs do"),
    ("unknown-fault", ('fault = "blackhole"', 'fault = "meteor"'), 13, "expected a fault kind"),
    ("unknown-site", ('to = ["site-a", "site-b"]', 'to = ["site-z"]'), 18, "got 'site-z'"),
    (
        "heal-unfaulted",
        ('link = "site-a"\nfault', 'link = "site-b"\nfault'),
        23,
        "timeline[3].link: the link to site-a is not faulted at this step",
    ),
    ("time-backwards", ("at = 2.0", "at = 0.1"), 21, "steps run in order"),
    (
        "no-send",
        (
            'do = "send"\nto = ["site-a", "site-b"]',
            'do = "fault"\nlink = "site-b"\nfault = "refuse"',
        ),
        9,
        'timeline: expected at least one step with do = "send"',
    ),
    ("empty-send", ('to = ["site-a", "site-b"]', "to = []"), 18, "at least 1 item"),
    (
        "empty-trickle",
        ('do = "send"\nto = ["site-a", "site-b"]', 'do = "trickle"\nto = "site-b"\ncount = 0'),
        19,
        "timeline[2].count: Input should be greater than or equal to 1, got 0",
    ),
    # Files whose every example would pass with nothing judged.
    (
        "nothing-faulted",
        ('do = "fault"\nlink = "site-a"\nfault = "blackhole"', 'do = "send"\nto = ["site-c"]'),
        9,
        'timeline: expected a step that faults a link (do = "fault")',
    ),
    ("every-site-faulted", ("sites = 3", "sites = 1"), 9, "every site (site-a) is faulted"),
    (
        "only-faulted-mail",
        ('to = ["site-a", "site-b"]', 'to = ["site-a"]'),
        9,
        "no message goes to a site that was not faulted before it was sent",
    ),
    (
        "bad-backend",
        ('name = "good"', 'name = "good"\n[run]\nbackend = "kubernetes"'),
        3,
        "run.backend: expected one of local, docker",
    ),
    (
        "dns-fault-statically-routed",
        ('fault = "blackhole"', 'fault = "dns-timeout"'),
        13,
        'dns-timeout faults lookups: the file needs [run] routing = "dns"',
    ),
    (
        "bad-routing",
        ('name = "good"', 'name = "good"\n[run]\nrouting = "carrier-pigeon"'),
        3,
        "run.routing: Input should be 'static' or 'dns'",
    ),
]


def break_good(change: tuple[str, str]) -> str:
    old, new = change
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def test_the_good_file_is_good() -> None:
    outage = parse_outage(GOOD, "good.toml")
    assert outage.healthy == {"site-b", "site-c"}
    assert outage.steps == (
        Cut("site-a", "blackhole", 0.0),
        Send(("site-a", "site-b"), 0.5),
        Heal("site-a", 2.0),
    )


@pytest.mark.parametrize(
    ("name", "change", "line", "says"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_file_gets_a_clear_message_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    change: tuple[str, str],
    line: int | None,
    says: str,
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(break_good(change))
    reports = tmp_path / "reports"
    code = main(["replay", str(path), "--reports", str(reports)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in err, err
    assert str(path) + (f":{line}:" if line else "") in err, err
    assert "Traceback" not in err
    assert not reports.exists(), "nothing may start before the file is valid"


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(tmp_path / "nope.toml")])
    assert code == 2
    assert "nope.toml: cannot read the scenario file" in capsys.readouterr().err


def test_every_problem_is_listed_not_just_the_first() -> None:
    text = break_good(("sites = 3", "sites = 0")).replace("bound = 3.0", "bound = 0")
    with pytest.raises(Exception, match="2 problems") as caught:
        parse_outage(text, "two.toml")
    assert "two.toml:4: topology.sites" in str(caught.value)
    assert "two.toml:7: expect.bound" in str(caught.value)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_the_shipped_library_is_valid_and_documented(path: Path) -> None:
    outage = load_outage(path)
    assert path.read_text().startswith("# "), "each scenario explains itself in its header"
    assert outage.healthy, "a scenario needs a healthy site to judge"
    assert outage.messages() > 0


def test_the_library_has_the_seed_and_four_more_outage_shapes() -> None:
    names = {p.stem for p in SCENARIOS.glob("*.toml")}
    assert "q193760" in names
    assert len(names - {"q193760"}) >= 4


def test_a_written_outage_reads_back_the_same(tmp_path: Path) -> None:
    drawn = Scenario(
        sites=4, faults=((0, "refuse"), (2, "latency")), messages=(0, 1, 2, 3, 1), cut_after=2
    ).to_outage(name="drawn-one")
    text = dump_outage(
        drawn, "header line\nsecond", "seedmta-sync", "local", Bounds(2.0, 9.0), True
    )
    assert text.startswith("# header line\n# second\n")
    back = parse_outage(text, "back.toml")
    assert back.steps == drawn.steps
    assert (back.sites, back.name, back.mta, back.backend) == (
        4,
        "drawn-one",
        "seedmta-sync",
        "local",
    )
    assert back.bounds == Bounds(2.0, 9.0) and back.strict_duplicates is True


def test_a_trickle_step_reads_and_writes_back() -> None:
    from harness.steps import Trickle

    text = break_good(
        ('do = "send"\nto = ["site-a", "site-b"]', 'do = "trickle"\nto = "site-b"\ncount = 5')
    )
    outage = parse_outage(text, "trickle.toml")
    assert outage.steps[1] == Trickle("site-b", 5, 0.5)
    assert outage.messages() == 5 and outage.healthy == {"site-b", "site-c"}
    back = parse_outage(dump_outage(outage, "", None, None, Bounds(3.0, 30.0), False), "b.toml")
    assert back.steps == outage.steps


def test_a_drawn_scenario_becomes_send_cut_send() -> None:
    outage = Scenario(
        sites=2, faults=((0, "blackhole"),), messages=(0, 1, 1), cut_after=1
    ).to_outage()
    assert outage.steps == (
        Send(("site-a",)),
        Cut("site-a", "blackhole"),
        Send(("site-b", "site-b")),
    )
    assert outage.healthy == {"site-b"}


def test_lines_are_found_per_array_table_occurrence() -> None:
    assert find_line(GOOD, ("timeline", 2, "link")) == 23
    assert find_line(GOOD, ("timeline", 1)) == 15
    assert find_line(GOOD, ("expect", "bound")) == 7
    assert find_line(GOOD, ("name",)) == 1
    assert find_line(GOOD, ("nowhere", "x")) is None
