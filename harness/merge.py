"""Merging the records of one search's parts into one record: the workers of ``certify -n N``
and the shards of ``certify --shard K/N`` (``mta-harness merge``). Pure data, no files.

The merged record is what one process playing every part would have written: every example
and every counterexample of every part, each claim's verdict and figures recomputed over all
examples, each test's worst outcome. Its verdict is the worst of that recomputation and of
every part's own (ERROR over FAIL over PASS): a part that could not test, or whose canary did
not fail, is never hidden behind its siblings' evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import UsageError
from harness.record import Canary, Counterexample, Part, Run
from harness.results import ERROR, FAIL, PASS, RunRecord

_VERDICT_RANK = {PASS: 0, FAIL: 1, ERROR: 2}
#: A test's outcome in the merged record is its worst in any part.
_OUTCOME_RANK = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}
#: What every part must share for their evidence to be about one thing.
_SAME = ("mta", "identity", "backend", "routing", "profile", "bounds", "harness_version")


def worst_verdict(verdicts: Sequence[str]) -> str:
    """ERROR over FAIL over PASS; anything unknown is ERROR."""
    return max(verdicts, key=lambda v: _VERDICT_RANK.get(v, len(_VERDICT_RANK)), default=ERROR)


def check_same_search(parts: Sequence[tuple[str, Run]]) -> None:
    """Refuse parts that certified different things: one UsageError naming the field, the
    two values and the parts they came from."""
    if not parts:
        raise UsageError("nothing to merge: no run records given")
    first_name, first = parts[0]
    for name, run in parts[1:]:
        for field in _SAME:
            mine, theirs = getattr(first, field), getattr(run, field)
            if field == "identity" and None in (mine, theirs):
                continue  # a part whose world never started learned no identity
            if mine != theirs:
                raise UsageError(
                    f"cannot merge {name} with {first_name}: they differ in {field} "
                    f"({_show(theirs)} against {_show(mine)}), so they are not parts of one "
                    "certification"
                )


def merge_runs(parts: Sequence[tuple[str, Run]], run_id: str, shard: str | None = None) -> Run:
    """One record from ``parts`` (each with a name for messages: a folder, a worker id);
    parts of different searches are refused first (:func:`check_same_search`). ``shard`` is
    the part of the whole search the merged record covers (None: all of it)."""
    check_same_search(parts)
    runs = [run for _, run in parts]
    first = runs[0]
    record = RunRecord(
        run_id=run_id,
        mta=first.mta,
        backend=first.backend,
        profile=first.profile,
        bounds=first.bounds.model_dump(),
        started=min(run.started for run in runs),
        identity=next((r.identity.model_dump() for r in runs if r.identity is not None), None),
        routing=first.routing,
        worlds=[world for run in runs for world in run.worlds],
        examples=[example for run in runs for example in run.examples],
        counterexamples=_counterexamples(parts),
        tests=_tests(runs),
        failures={test: why for run in reversed(runs) for test, why in run.failures.items()},
        errors=[f"{_label(name, run)}: {e}" for name, run in parts for e in run.errors],
        interrupted=any(run.interrupted for run in runs),
        finished=None if any(run.finished is None for run in runs) else _last_finish(runs),
        shard=shard,
    )
    merged = record.to_run()
    canary = _worst_canary([run.canary for run in runs])
    verdict = worst_verdict([merged.verdict, *(run.verdict for run in runs)])
    return merged.model_copy(
        update={
            "harness_version": first.harness_version,
            "verdict": verdict,
            "canary": canary,
            "partial": merged.partial or any(run.partial for run in runs),
            "parts": [part for _, run in parts for part in _parts_of(run)],
        }
    )


def _tests(runs: Sequence[Run]) -> dict[str, str]:
    tests: dict[str, str] = {}
    for run in runs:
        for test, outcome in run.tests.items():
            known = tests.get(test)
            if known is None or _OUTCOME_RANK.get(outcome, 3) > _OUTCOME_RANK.get(known, 3):
                tests[test] = outcome
    return tests


def _counterexamples(parts: Sequence[tuple[str, Run]]) -> dict[str, Counterexample]:
    """Every part's counterexamples; where two parts found one for the same test and claim,
    both are kept, the second under its part's name."""
    kept: dict[str, Counterexample] = {}
    for name, run in parts:
        for key, counterexample in run.counterexamples.items():
            kept[key if key not in kept else f"{key} [{_label(name, run)}]"] = counterexample
    return kept


def _parts_of(run: Run) -> list[Part]:
    """A record's own parts where it was merged already (a sharded ``-n`` run), else itself."""
    if run.parts:
        return list(run.parts)
    return [
        Part(
            shard=run.shard,
            seed=run.seed,
            run_id=run.run_id,
            verdict=run.verdict,
            examples_run=run.examples_run,
        )
    ]


def _worst_canary(canaries: Sequence[Canary | None]) -> Canary | None:
    """The canary that says the least for the merged record: one that did not FAIL, else the
    first (every part plays its own; any one not failing voids the whole)."""
    played = [c for c in canaries if c is not None]
    return next((c for c in played if c.verdict != FAIL), played[0] if played else None)


def _last_finish(runs: Sequence[Run]) -> float:
    return max(run.finished or run.started for run in runs)


def _label(name: str, run: Run) -> str:
    return f"shard {run.shard} ({name})" if run.shard else name


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
