"""The run record: ``results.json`` in the run's folder, written atomically.

The verdict is one of three: PASS (every property held), FAIL (the MTA broke a property) and
ERROR (the harness could not test). ERROR is never reported as PASS.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.record import BoundsRecord, ClaimVerdict, Counterexample, Example, Identity, Run

PASS, FAIL, ERROR = "PASS", "FAIL", "ERROR"
EXIT_CODES = {PASS: 0, FAIL: 1, ERROR: 3}
#: A run stopped by a signal before a verdict.
EXIT_INTERRUPTED = 130


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    """``data`` as indented JSON, written with :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


#: How a run's verdict on one claim reads, from the verdicts of its examples: any broken
#: example breaks it; else a claim not proven anywhere is "not proven", a warning anywhere
#: is "warning", and a claim judged nowhere is "not judged".
_CLAIM_ORDER = ("broken", "not proven", "warning", "holds", "not judged")


def claim_verdicts(examples: list[Example]) -> list[ClaimVerdict]:
    """Each claim's verdict over a run's examples, with counts and figures (pure data)."""
    counts_of: dict[str, dict[str, int]] = {}
    figures_of: dict[str, dict[str, list[float]]] = {}
    for example in examples:
        for claim in example.claims:
            counts = counts_of.setdefault(claim.name, {})
            counts[claim.verdict] = counts.get(claim.verdict, 0) + 1
            for key, value in claim.figures.items():
                figures_of.setdefault(claim.name, {}).setdefault(key, []).append(float(value))
    out = []
    for name, counts in counts_of.items():
        verdict = next(v for v in _CLAIM_ORDER if counts.get(v))
        figures = figures_of.get(name, {})
        summary: dict[str, float] = {}
        if "worst" in figures:
            summary["worst"] = max(figures["worst"])
        if "median" in figures:
            medians = sorted(figures["median"])
            summary["median"] = medians[len(medians) // 2]
        if "ratio" in figures:  # healthy_throughput: the worst example's
            summary["ratio"] = min(figures["ratio"])
        if "p99" in figures:
            summary["p99"] = max(figures["p99"])
        for key in ("stuck", "lost", "after_retry", "healthy", "wrongly_bounced"):
            if key in figures:
                summary[key] = sum(figures[key])
        out.append(ClaimVerdict(name=name, verdict=verdict, counts=counts, figures=summary))
    return out


#: The seed's claim, whose examples decide whether a run tested anything at all.
SEED_CLAIM = "healthy_sites_keep_flowing"


def _seed_claim_judged(example: Example) -> bool:
    claim = example.claim(SEED_CLAIM)
    # A warning judged it too: late healthy mail explained as the MTA's own pacing.
    return claim is not None and claim.verdict in ("holds", "broken", "warning")


def child_verdict(results: Run | None, status: int) -> str:
    """The verdict of a certification run in a child process, from its exit status and its
    run record together (``table``, ``stability``): a record left partial, or an exit status
    that says something else than the record, is no verdict about the MTA."""
    if status == EXIT_INTERRUPTED or (results is not None and results.interrupted):
        return "INTERRUPTED"
    if results is None or results.partial:
        return ERROR  # killed before it finished its record: it judged what, exactly?
    return results.verdict if EXIT_CODES.get(results.verdict) == status else ERROR


#: What pytest's exit status must be for each verdict of the run record.
PYTEST_STATUS = {PASS: 0, FAIL: 1}


def agree_with_pytest(results: Run, status: int | None) -> Run:
    """The run record's verdict, checked against pytest's own exit status: an internal
    error, a usage error or no tests collected after some test passed is no PASS, and any
    disagreement is ERROR, with why."""
    expected = PYTEST_STATUS.get(results.verdict)
    if expected is None or status == expected:
        return results
    why = (
        f"pytest ended with exit status {status} while the record said {results.verdict}: "
        "the run cannot be trusted"
    )
    return results.model_copy(update={"verdict": ERROR, "errors": [*results.errors, why]})


def pass_sentence(results: Run) -> str:
    """What a PASS says in words: the seed's claim, and loss only where it was proven (an MTA
    that cannot be asked to retry may still hold mail the harness cannot account for)."""
    loss = results.claim("no_loss")
    if loss is not None and loss.verdict == "not proven":
        return (
            "One dead link did not stall healthy sites; loss could not be proven (mail was "
            "still queued and the MTA cannot be asked to retry now)."
        )
    return "One dead link did not stall healthy sites, and no mail was lost."


def describe_claim(claim: ClaimVerdict) -> str:
    """One claim's run verdict in one line: "no_loss: holds (19 examples; 2 after a retry)"."""
    counts = ", ".join(f"{n} {v}" for v, n in claim.counts.items())
    figures = claim.figures
    extra = []
    if claim.name == "prompt_recovery" and "worst" in figures:
        extra.append(f"median {figures.get('median', 0):.2f} s, worst {figures['worst']:.2f} s")
    if figures.get("after_retry"):
        extra.append(f"{figures['after_retry']:g} delivered only after a retry was asked for")
    if figures.get("stuck") or figures.get("lost"):
        extra.append(f"{figures.get('stuck', 0):g} stuck, {figures.get('lost', 0):g} lost")
    if figures.get("wrongly_bounced"):
        extra.append(f"{figures['wrongly_bounced']:g} bounced on a transient fault")
    if "ratio" in figures:
        extra.append(f"lowest healthy throughput {figures['ratio']:.0%} of its baseline")
    if claim.name == SEED_CLAIM and "worst" in figures:
        extra.append(f"worst healthy latency {figures['worst']:.2f} s")
    tail = "; ".join([counts, *extra])
    return f"{claim.name}: {claim.verdict} ({tail})"


@dataclass
class RunRecord:
    """Everything a run learned, as it goes; :meth:`save` may be called at any time."""

    run_id: str
    mta: str
    backend: str
    profile: str | None
    bounds: dict[str, float]
    started: float
    identity: dict[str, str] | None = None
    #: How the MTA found the sites: "static" or "dns" (``--routing``).
    routing: str = "static"
    worlds: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    #: The last (so, once Hypothesis shrank it, the shrunk) failing example of each test
    #: and broken claim.
    counterexamples: dict[str, Counterexample] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    #: Why each failed test failed, in one message, by test id.
    failures: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    finished: float | None = None
    #: The part of the search this session played (``--shard``, split among workers).
    shard: str | None = None
    seed: int | None = None

    @property
    def verdict(self) -> str:
        if self.interrupted or self.errors or any(o == "error" for o in self.tests.values()):
            return ERROR
        if any(o == "failed" for o in self.tests.values()):
            return FAIL  # a broken claim is evidence, whatever else was judged
        return ERROR if self.unjudged() else PASS

    def judged_examples(self) -> int:
        """Examples that had healthy mail in flight while a link was faulted: the only ones
        in which the seed's claim was put to the test."""
        return sum(1 for e in self.examples if _seed_claim_judged(e))

    def unjudged(self) -> list[str]:
        """Why this run's evidence cannot carry a PASS (empty if it can): nothing passed, a
        passing test that judged no example, no example that tested the seed's claim.
        Skipped tests count for nothing."""
        passed = [t for t, o in self.tests.items() if o == "passed"]
        if not passed:
            return ["no test passed: nothing was tested (skipped tests count for nothing)"]
        reasons = []
        per_test = {e.test for e in self.examples}
        for test in passed:
            if test not in per_test:
                reasons.append(f"{test} passed without recording an example: it judged nothing")
        if not self.examples:
            reasons.append("no example was judged")
        elif not self.judged_examples():
            reasons.append(
                f"none of the {len(self.examples)} example(s) had healthy mail in flight while "
                "a link was faulted: the seed's claim was never put to the test"
            )
        return reasons

    def to_run(self) -> Run:
        """The record so far as the typed run record its readers load."""
        return Run(
            run_id=self.run_id,
            harness_version=__version__,
            verdict=self.verdict,
            partial=self.finished is None,
            interrupted=self.interrupted,
            mta=self.mta,
            identity=None if self.identity is None else Identity.model_validate(self.identity),
            backend=self.backend,
            routing=self.routing,
            profile=self.profile,
            bounds=BoundsRecord.model_validate(self.bounds),
            started=self.started,
            finished=self.finished,
            worlds=self.worlds,
            tests=self.tests,
            errors=self.errors,
            examples_run=len(self.examples),
            examples_judged=self.judged_examples(),
            unjudged=self.unjudged(),
            failing_examples=sum(1 for e in self.examples if not e.holds),
            claims=claim_verdicts(self.examples),
            counterexamples=self.counterexamples,
            failures=self.failures,
            examples=self.examples,
            shard=self.shard,
            seed=self.seed,
        )

    def to_json(self) -> dict[str, Any]:
        """The record so far as results.json holds it."""
        return self.to_run().as_json()

    def save(self, folder: Path, suffix: str = "") -> Run | None:
        """Write ``results<suffix>.json`` (a pytest-xdist worker passes ``-gw0`` and so on,
        so parallel workers never overwrite each other's record). Once the run finished, the
        record is returned as its readers load it."""
        run = self.to_run()
        write_json_atomic(folder / f"results{suffix}.json", run.as_json())
        return run if self.finished is not None else None
