"""How Hypothesis searches in a harness run: its profiles, one example database per
pytest-xdist worker, the shrink budget, and no hill climbing once a failure is found."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from harness.profiles import PROFILES

for _name, _options in PROFILES.items():
    settings.register_profile(
        _name,
        deadline=None,  # real systems: the default 200 ms deadline is meaningless
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
