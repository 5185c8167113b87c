"""A worker done with its share of a divided search keeps drawing while another worker still
plays its share, and never past the whole search (harness.plugin.balance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from harness.plugin import balance
from harness.plugin.balance import Division


@pytest.fixture
def division(tmp_path: Path) -> Iterator[Division]:
    balance._patch_engine()
    playing = Division(tmp_path, "prop", me=0, workers=3)
    balance._playing = playing
    try:
        yield playing
    finally:
        balance._playing = None


def play(share: int, on_example: Callable[[int], None] | None = None) -> list[int]:
    drawn: list[int] = []

    @seed(7)
    @settings(max_examples=share, database=None)
    @given(st.integers())
    def prop(n: int) -> None:
        drawn.append(n)
        if on_example is not None:
            on_example(len(drawn))

    prop()
    return drawn


def alone(share: int) -> list[int]:
    """What the same run plays where no search is divided (nothing playing)."""
    assert balance._playing is None
    return play(share)


def test_its_own_share_is_what_it_plays_alone(division: Division) -> None:
    (division.folder / "prop.gw1").touch()
    (division.folder / "prop.gw2").touch()  # both others finished their shares already
    played = play(5)
    balance._playing = None
    assert played == alone(5)
    assert (division.folder / "prop.gw0").exists()  # and it told the others it finished


def test_it_draws_on_while_another_plays_and_stops_when_it_finished(
    division: Division,
) -> None:
    (division.folder / "prop.gw2").touch()

    def gw1_finishes_at_the_8th(count: int) -> None:
        if count == 8:
            (division.folder / "prop.gw1").touch()

    played = play(5, gw1_finishes_at_the_8th)
    assert len(played) == 9  # the 9th was already drawn when it looked again
    balance._playing = None
    assert played[:5] == alone(5)  # its share first, unchanged


def test_it_never_plays_more_than_the_whole_search(division: Division) -> None:
    played = play(4)  # neither other worker ever finishes (say both died)
    assert len(played) == 4 * 3


def test_a_further_example_is_judged_and_its_failure_ends_the_drawing(division: Division) -> None:
    def fails_at_the_7th(count: int) -> None:
        assert count < 7

    with pytest.raises(AssertionError):
        play(5, fails_at_the_7th)
