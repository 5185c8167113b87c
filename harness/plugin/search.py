"""How Hypothesis searches in a harness run: its profiles, one example database per
pytest-xdist worker (plus a shared one where asked: ``--example-db``), the shrink budget, and
no hill climbing once a failure is found."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
)

from harness.profiles import PROFILES

for _name, _options in PROFILES.items():
    settings.register_profile(
        _name,
        deadline=None,  # real systems: the default 200 ms deadline is meaningless
        # Hypothesis's own CI profile (loaded where $CI is set, and the parent of these)
        # derandomizes, which would ignore the run's seed: every shard would then play the
        # same examples, and `certify --seed` would repeat nothing.
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow],
        # No explain phase: it replays the shrunk example with parts varied, dozens of
        # examples of seconds each against a real MTA, to annotate what did not matter.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        **_options,
    )

#: Why Hypothesis stopped, in its statistics, when the shrink budget ran out.
SLOW_SHRINKING = "shrinking was very slow"


def configure_search(config: pytest.Config, worker: str | None) -> None:
    """Load the run's profile and apply the shrink budget (every session: cheap, and a
    suite's own Hypothesis tests need them too)."""
    profile = config.getoption("--harness-profile")
    if profile:
        settings.load_profile(profile)
    _database_per_worker(worker)
    shared = config.getoption("--example-db")
    if shared:
        _share_database(shared_database(shared))
    _shrink_budget(float(config.getoption("--shrink-budget")))


def _shrink_budget(seconds: float) -> None:
    """Cap Hypothesis's shrinking time. It has no setting for it: its engine stops shrinking
    after ``MAX_SHRINKING_SECONDS`` (5 minutes) and reports the best example so far, and
    that module constant is read when shrinking starts. ``seconds`` is positive: the
    option's own type (``harness.options.positive_seconds``) refuses anything else."""
    from hypothesis.internal.conjecture import engine

    if hasattr(engine, "MAX_SHRINKING_SECONDS"):
        engine.MAX_SHRINKING_SECONDS = int(max(1.0, seconds))
    _stop_steering_once_failing()


def _stop_steering_once_failing() -> None:
    """End Hypothesis's target phase (hill climbing on ``hypothesis.target``) as soon as a
    failure is found. Steering is there to find a failure; after one, each climbing step is
    another example of seconds against a real MTA, outside the shrink budget (measured:
    postfix-pool, over 5 minutes of climbing after the first failure before any shrink)."""
    from hypothesis.internal.conjecture import optimiser

    climber = getattr(optimiser, "Optimiser", None)
    original = getattr(climber, "consider_new_data", None)
    if climber is None or original is None or getattr(original, "_harness", False):
        return

    def consider_new_data(self: Any, data: Any) -> bool:
        if self.engine.interesting_test_cases:
            self.improvements = self.max_improvements + 1  # ends the climb
            return False
        return bool(original(self, data))

    consider_new_data._harness = True  # type: ignore[attr-defined]
    climber.consider_new_data = consider_new_data


def _database_per_worker(worker: str | None) -> None:
    """Give each pytest-xdist worker a Hypothesis example database of its own, so workers
    never replay each other's examples (or race on one folder)."""
    current = settings.default
    if worker is None or current is None or current.database is None:
        return
    name = f"mta-harness-{worker}"
    settings.register_profile(
        name,
        parent=current,
        database=DirectoryBasedExampleDatabase(f".hypothesis/examples-{worker}"),
    )
    settings.load_profile(name)


#: Schemes ``--example-db`` takes as a Redis server's address (redis-py's own).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def shared_database(url: str) -> ExampleDatabase:
    """The example database ``--example-db`` names: Hypothesis's own Redis database for a
    Redis URL (reached now, so a wrong address is one message before any test), else a
    folder. Anything else that looks like a URL is refused."""
    if url.startswith(REDIS_SCHEMES):
        return _redis_database(url)
    if "://" in url:
        raise pytest.UsageError(
            f"--example-db {url}: not a Redis URL ({', '.join(REDIS_SCHEMES)}) or a folder"
        )
    return DirectoryBasedExampleDatabase(url)


def _redis_database(url: str) -> ExampleDatabase:
    try:
        from hypothesis.extra.redis import RedisExampleDatabase
        from redis import Redis
        from redis.exceptions import RedisError
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise pytest.UsageError(f"--example-db {url}: redis is not installed ({exc})") from None
    try:
        client = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        client.ping()
    except (RedisError, ValueError) as exc:
        raise pytest.UsageError(f"--example-db {url}: cannot reach it: {exc}") from None
    return RedisExampleDatabase(client)


def _share_database(shared: ExampleDatabase) -> None:
    """Use ``shared`` beside this session's own database: Hypothesis replays what either
    holds and saves to both, so a failure one run found is the first example of the next."""
    current = settings.default
    if current is None:
        return
    own = current.database
    name = f"{settings.get_current_profile_name()}-shared-db"
    database = shared if own is None else MultiplexedDatabase(own, shared)
    settings.register_profile(name, parent=current, database=database)
    settings.load_profile(name)


def use_database_though_seeded(items: list[pytest.Item]) -> None:
    """Give each property its example database key though the run is seeded: Hypothesis
    drops the database of a test run with a forced seed (``--hypothesis-seed``, which every
    certification passes), so without this a shared database would never be read or
    written. Asked for by ``--example-db``: replaying what another run found first is the
    point of sharing one."""
    from hypothesis.internal.reflection import function_digest

    for item in items:
        test = getattr(item, "obj", None)
        inner = getattr(getattr(test, "hypothesis", None), "inner_test", None)
        if inner is not None and not hasattr(test, "_hypothesis_internal_database_key"):
            # The key Hypothesis itself uses for an unseeded run of the same test.
            test._hypothesis_internal_database_key = function_digest(inner)  # type: ignore[union-attr]
