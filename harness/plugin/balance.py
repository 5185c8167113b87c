"""No worker of a divided search idles while another still plays its share.

Under ``certify -n N`` every worker plays a share of every property: its own seed, the
profile's ``max_examples`` (:mod:`harness.plugin.shards`). Shares cost very differently (an
example costs the outage it draws: 37 s against 63 s for two shares of 20 were measured), so
the run would last as long as its slowest share while the other workers sat idle.

Instead a worker done with its share of a property goes on drawing examples in the same
Hypothesis run, one at a time, for as long as another worker of the run has not finished its
share of that property; never past the whole search's size (the share times the workers, as
if one worker had played all of it). Its share itself is untouched (the same seed and the
same schedule, so the examples ``--shard`` plays), and each further example is drawn,
judged and recorded like any other: the run tries more fault schedules in the same time.

The workers tell each other through one folder the controller makes for the run (passed in
``workerinput``; removed when the run ends, or by the reaper after a crash):
``<key>.<worker>`` exists once that worker finished its share of the property, or the test.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.plugin.state import EVERY_TEST_KEY
from harness.runtime import owner_token, runtime_root

#: The folder's path in each worker's ``workerinput``.
FOLDER_KEY = "mta_harness_divide_folder"
#: The controller's folder, removed at the end of its session.
_FOLDER_STASH = pytest.StashKey[Path]()
#: The name the worker's plugin is registered under.
PLUGIN_NAME = "mta-harness-balance"


@dataclass(frozen=True)
class Division:
    """One property as this worker plays it, among ``workers`` workers sharing ``folder``."""

    folder: Path
    key: str
    me: int
    workers: int

    def finished(self) -> None:
        """Tell the others this worker played its share (or ended the test)."""
        (self.folder / f"{self.key}.gw{self.me}").touch()

    def others_playing(self) -> bool:
        """Whether another worker has yet to finish its share of this property."""
        return any(
            not (self.folder / f"{self.key}.gw{other}").exists()
            for other in range(self.workers)
            if other != self.me
        )


#: The property this worker is playing now, if its search is divided.
_playing: Division | None = None


def keep_drawing(runner: Any) -> None:
    """Called by Hypothesis's engine before each test case (patched in below): where this
    worker's share is about to be complete and another worker still plays its own, let this
    run take one more example. ``runner.settings.max_examples`` is the only stop it moves;
    the run's schedule (when to steer) was set from the share when generation began."""
    division = _playing
    if division is None:
        return
    share = runner.__dict__.setdefault("_harness_share", runner.settings.max_examples)
    valid = runner.valid_test_cases
    if valid + 1 < runner.settings.max_examples:
        return
    if valid + 1 >= share:
        division.finished()
    if runner.interesting_test_cases or valid + 1 >= share * division.workers:
        return  # a failure ends the search; the whole search's size is the most one plays
    if division.others_playing():
        from hypothesis import settings

        runner.settings = settings(runner.settings, max_examples=valid + 2)


def _patch_engine() -> None:
    from hypothesis.internal.conjecture import engine

    runner = engine.ConjectureRunner
    original = runner.test_function
    if getattr(original, "_harness", False):
        return

    def test_function(self: Any, data: Any) -> None:
        keep_drawing(self)
        original(self, data)

    test_function._harness = True  # type: ignore[attr-defined]
    runner.test_function = test_function  # type: ignore[method-assign]


class Balance:
    """A worker's plugin: each property it plays is a :class:`Division` of the run's."""

    def __init__(self, folder: Path, me: int, workers: int) -> None:
        self.folder, self.me, self.workers = folder, me, workers

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        global _playing
        if not getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            return (yield)
        _playing = self.division(item.nodeid)
        try:
            return (yield)
        finally:
            _playing = None

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        # Whatever ended the test (a failure, a skip, an error in setup): not playing now.
        self.division(nodeid).finished()

    def division(self, nodeid: str) -> Division:
        key = hashlib.sha256(nodeid.encode()).hexdigest()[:16]
        return Division(self.folder, key, self.me, self.workers)


def configure_balance(config: pytest.Config) -> None:
    """In a worker of a divided search (``-n N --dist each``), register :class:`Balance`."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or not workerinput.get(EVERY_TEST_KEY) or FOLDER_KEY not in workerinput:
        return
    _patch_engine()
    me = int(str(workerinput["workerid"]).removeprefix("gw"))
    plugin = Balance(Path(workerinput[FOLDER_KEY]), me, int(workerinput["workercount"]))
    config.pluginmanager.register(plugin, PLUGIN_NAME)


def share_folder(config: pytest.Config, workerinput: dict[str, Any]) -> None:
    """On the controller, as each worker is configured: the run's folder (made once)."""
    if not workerinput.get(EVERY_TEST_KEY):
        return
    folder = config.stash.get(_FOLDER_STASH, None)
    if folder is None:
        runs = runtime_root() / "runs"
        runs.mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="divide-", dir=runs))
        # Owned like a run's scratch folder: the reaper removes it if this process dies.
        (folder / "owner").write_text(owner_token())
        config.stash[_FOLDER_STASH] = folder
    workerinput[FOLDER_KEY] = str(folder)


def remove_folder(config: pytest.Config) -> None:
    """On the controller, at the end of the session."""
    folder = config.stash.get(_FOLDER_STASH, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
