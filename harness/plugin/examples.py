"""Where suites report examples: the run record's examples and counterexamples, each
failing example written out as a scenario file, and intermittent failures replayed."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness import __version__
from harness.claims import Bounds
from harness.plugin.state import (
    CURRENT_TEST_KEY,
    RECORD_KEY,
    REPORT_DIR_KEY,
    SHRINKING_KEY,
    save,
    session_bounds,
)
from harness.progress import progress_of
from harness.scenario import ExampleResult, Scenario, play
from harness.scenario_file import SCENARIOS, dump_outage
from harness.strategies import steer as steer_search
from harness.timeline import Outage
from harness.world import World

#: Replays of a failure Hypothesis could not reproduce, to say how intermittent it is.
INTERMITTENT_REPLAYS = 4


class ExampleLog:
    """Adds example results to the run record and keeps, per test and per broken claim, the
    last failure (Hypothesis replays each distinct failure's shrunk example last)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        #: The last failing result per counterexample key, to replay an intermittent one.
        self.last_failures: dict[str, ExampleResult] = {}

    def add(self, result: ExampleResult) -> None:
        record = self._config.stash[RECORD_KEY]
        test = self._config.stash.get(CURRENT_TEST_KEY, "?")
        logged_at = time.time()
        example = result.to_record(test, logged_at)
        record.examples.append(example)
        history = example.history  # in time order: its last event ends the example
        progress_of(self._config).example_done(result, history[-1].at if history else 0.0)
        if not result.holds:
            key = counterexample_key(test, result.broken_claim or "?")
            shrunk = self._config.stash.get(SHRINKING_KEY, False)
            counterexample = result.to_counterexample(test, logged_at, shrunk)
            written = self._export(key, result, counterexample.explanation)
            if written is not None:
                counterexample.file = str(written)
            record.counterexamples[key] = counterexample
            self.last_failures[key] = result
        save(self._config)

    def replay_intermittent(self, test: str, world: World) -> None:
        """A failure Hypothesis could not reproduce: replay each of the test's last failures
        a few times and record how often it came back ("seen in 2 of 5 replays")."""
        record = self._config.stash[RECORD_KEY]
        for key, failed in list(self.last_failures.items()):
            kept = record.counterexamples.get(key)
            if kept is None or kept.test != test:
                continue
            again = 0
            for _ in range(INTERMITTENT_REPLAYS):
                replayed = play(world, failed.outage, failed.bounds, claims=failed.judges)
                again += replayed.broken_claim == failed.broken_claim
            kept.intermittent = f"seen in {again + 1} of {INTERMITTENT_REPLAYS + 1} replays"
        save(self._config)

    def _export(self, key: str, result: ExampleResult, explanation: str) -> Path | None:
        """Write the failing example as a scenario file into the run folder, to replay."""
        folder = self._config.stash.get(REPORT_DIR_KEY, None)
        if folder is None:
            return None
        record = self._config.stash[RECORD_KEY]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", key.rpartition("::")[2]).strip("-")[:80]
        path = folder / f"counterexample-{slug or 'test'}.toml"
        header = "\n".join(
            [
                f"Counterexample found by mta-harness {__version__} in run {record.run_id},",
                f"{key}, MTA {record.mta} on {record.backend}.",
                f"Replay it:  mta-harness replay {path}",
                "Keep it as a regression test: copy it into fixtures/scenarios/.",
                "",
                "What happened:",
                *explanation.splitlines(),
            ]
        )
        outage = result.outage
        if outage.name in ("drawn", "outage"):
            # A scenario file's name is at most 80 characters.
            outage = replace(outage, name=f"counterexample-{slug}"[:80].rstrip("-"))
        path.write_text(
            dump_outage(
                outage,
                header,
                mta=record.mta,
                backend=record.backend,
                bounds=result.bounds,
                strict_duplicates=bool(self._config.getoption("--strict-duplicates")),
            )
        )
        return path


def counterexample_key(test: str, claim: str) -> str:
    """How a run record names one test's counterexample for one broken claim."""
    return f"{test} [{claim}]"


class OutageSettings:
    """Bounds and duplicate policy for one scenario file: a value given on the command line
    wins, then the file's own, then the harness's default."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def bounds(self, outage: Outage) -> Bounds:
        return session_bounds(self._config, outage.bounds)

    def strict_duplicates(self, outage: Outage) -> bool:
        return bool(self._config.getoption("--strict-duplicates") or outage.strict_duplicates)


def scenario_files(config: pytest.Config) -> list[Path]:
    """The scenario files a run plays: ``--scenario`` ones, or the shipped library."""
    chosen = config.getoption("--scenario")
    return [Path(f) for f in chosen] if chosen else sorted(SCENARIOS.glob("*.toml"))


def load_outages(config: pytest.Config) -> list[Outage]:
    """The outages under sustained load a run plays (``fixtures/scenarios/load/``), each at
    ``--load RATE`` messages a second where given, else at its file's own rate."""
    from harness.scenario_file import load_outage
    from harness.steps.load import at_rate

    rate = config.getoption("--load")
    outages = [load_outage(path) for path in sorted((SCENARIOS / "load").glob("*.toml"))]
    if rate is None:
        return outages
    return [
        replace(
            o,
            steps=at_rate(o.steps, rate),
            description=f"{o.description} (played at {rate:g} messages/s)",
        )
        for o in outages
    ]


class Judge:
    """Plays an outage in the world, adds the example to the run record, optionally steers
    the search by it, and raises the first broken claim: what every suite does, in one call
    (``judge(outage)``). Bounds and duplicate policy as :class:`OutageSettings` decides."""

    def __init__(self, world: World, log: ExampleLog, settings: OutageSettings) -> None:
        self.world = world
        self.log = log
        self.settings = settings

    def __call__(self, outage: Outage | Scenario, steer: bool = False) -> ExampleResult:
        """Judge ``outage``; ``steer`` (inside ``@given`` only) points Hypothesis at stalls."""
        if isinstance(outage, Scenario):
            outage = outage.to_outage()
        if outage.routing == "dns" and self.world.plan.routing != "dns":
            # Its faults are in lookups this run's MTA never makes: nothing to judge here.
            pytest.skip(f"{outage.name} faults DNS lookups: it needs --routing dns")
        result = play(
            self.world,
            outage,
            self.settings.bounds(outage),
            self.settings.strict_duplicates(outage),
        )
        self.log.add(result)
        if steer:
            steer_search(result)
        result.check()
        return result
