"""A session's part of the search (:mod:`harness.shards`): which shard it plays, the
Hypothesis seed that follows from it, and which fixed tests are its to run.

Under ``pytest -n N --dist each`` (what ``certify -n N`` runs) every worker is handed every
test; each worker then plays its own finer shard, so the workers divide the search instead of
repeating each other's examples.
"""

from __future__ import annotations

import pytest

from harness.plugin.balance import share_folder
from harness.plugin.state import EVERY_TEST_KEY, worker
from harness.shards import WHOLE, Shard


def session_shard(config: pytest.Config) -> Shard:
    """The shard this session plays: ``--shard`` (default the whole search), split among the
    workers where pytest-xdist hands every worker every test (``--dist each``)."""
    shard: Shard = config.getoption("--shard") or WHOLE
    name = worker(config)
    workerinput = getattr(config, "workerinput", {})
    if name is None or not workerinput.get(EVERY_TEST_KEY):
        return shard
    return shard.split(int(name.removeprefix("gw")), int(workerinput["workercount"]))


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, where it is installed
def pytest_configure_node(node: object) -> None:
    config = getattr(node, "config", None)
    workerinput = getattr(node, "workerinput", None)
    if config is not None and isinstance(workerinput, dict):
        workerinput[EVERY_TEST_KEY] = getattr(config.option, "dist", None) == "each"
        share_folder(config, workerinput)


def session_seed(config: pytest.Config) -> int | None:
    """The Hypothesis seed of this session's shard; None where no seed was given (a whole
    search then runs with Hypothesis's own random seed)."""
    given = config.getoption("hypothesis_seed", None)
    shard = session_shard(config)
    if given is None:
        if not shard.whole:
            raise pytest.UsageError(
                f"shard {shard} needs --hypothesis-seed: every shard derives its own seed from "
                "the run's, so that the shards divide one search (mta-harness certify always "
                "passes one)"
            )
        return None
    try:
        return shard.seed(int(given))
    except ValueError:
        raise pytest.UsageError(
            f"--hypothesis-seed={given}: a shard's seed is derived from a whole number"
        ) from None


def play_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Play this session's shard (from ``pytest_collection_modifyitems``, after every
    plugin's ``pytest_configure``): its seed, and the fixed tests dealt out to it; every shard
    keeps every property."""
    shard = session_shard(config)
    if shard.whole:
        return
    from hypothesis import core

    # Hypothesis's pytest plugin sets this module global from --hypothesis-seed when it is
    # configured; the shard replaces it with its own, read as each test starts.
    core.global_force_seed = session_seed(config)  # type: ignore[assignment]
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    position = 0
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            kept.append(item)
            continue
        (kept if shard.owns(position) else dropped).append(item)
        position += 1
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
