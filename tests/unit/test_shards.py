"""Dividing a search (pure): shards parse, deal the fixed tests out exactly once, derive seeds
that differ per shard but not per machine, and a worker of a shard is a shard of the finer
division (so ``--shard K/N -n W`` plays what ``-n N*W`` plays)."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.shards import WHOLE, Shard, parse_shard


def test_k_of_n_parses_and_bad_forms_are_refused_with_the_form() -> None:
    assert parse_shard("2/3") == Shard(2, 3)
    assert parse_shard(" 1 / 1 ") == WHOLE
    for bad in ("0/3", "4/3", "1/0", "3", "a/b", "-1/2", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_shard(bad)


@given(st.integers(1, 12), st.integers(0, 200))
def test_every_fixed_test_is_run_by_exactly_one_shard(count: int, position: int) -> None:
    owners = [k for k in range(1, count + 1) if Shard(k, count).owns(position)]
    assert len(owners) == 1


def test_seeds_differ_per_shard_and_are_fixed_by_the_run_seed() -> None:
    seeds = [Shard(k, 4).seed(5) for k in range(1, 5)]
    assert len(set(seeds)) == 4
    assert seeds == [Shard(k, 4).seed(5) for k in range(1, 5)]  # no process state in it
    assert Shard(1, 4).seed(6) != seeds[0]
    assert WHOLE.seed(5) == 5  # an unsharded run plays the seed it records
    # Pinned: the derivation is part of the certificate's promise ("the same seed and N give
    # the same examples on any machines"); changing it breaks every repeat command written.
    assert (Shard(2, 2).seed(5), Shard(2, 3).seed(5)) == (331795987, 3169281643)


@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_a_worker_of_a_shard_is_a_shard_of_the_finer_division(
    count: int, workers: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(1, count))
    worker = data.draw(st.integers(0, workers - 1))
    finer = Shard(index, count).split(worker, workers)
    assert finer.count == count * workers
    assert finer == WHOLE.split((index - 1) * workers + worker, count * workers)
    # Every shard's every worker together still run each fixed test exactly once.
    for position in range(60):
        runs = [
            (k, w)
            for k in range(1, count + 1)
            for w in range(workers)
            if Shard(k, count).split(w, workers).owns(position)
        ]
        assert len(runs) == 1


def test_a_run_s_seed_is_played_even_where_ci_is_set() -> None:
    # Hypothesis's own CI profile (loaded where $CI is set) derandomizes, which ignores the
    # seed: every shard would then play the same examples, and --seed would repeat nothing.
    from hypothesis import settings

    import harness.plugin.search  # noqa: F401  (registers the profiles)
    from harness.profiles import PROFILES

    for name in PROFILES:
        assert settings.get_profile(name).derandomize is False, name
