"""Merging the parts of one search (pure, and the shards' folders): every example and
counterexample kept, figures and verdict recomputed, the worst part never hidden, and parts
of different certifications refused with what differs."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness.claims import Bounds
from harness.errors import UsageError
from harness.merge import merge_runs
from harness.record import Canary, Counterexample, Run, parse_run
from harness.report.certificate import certificate, write_certificate
from harness.report.merge import merge_folders
from harness.report.provenance import Provenance
from harness.results import ERROR, FAIL, PASS, RunRecord, write_json_atomic

from ..conftest import example_record


def part(
    shard: str | None,
    tests: dict[str, str],
    healthy: list[str],
    **changes: Any,
) -> Run:
    record = RunRecord(f"run-{shard}", "seedmta-async", "local", "ci", asdict(Bounds()), 10.0)
    record.tests = tests
    record.examples = [
        example_record(next(iter(tests)), h, name=f"{shard}-{i}") for i, h in enumerate(healthy)
    ]
    record.shard, record.seed, record.finished = shard, 7, 20.0
    run = parse_run({**record.to_json(), **changes}, "test")
    return run


def test_the_merged_record_holds_every_example_and_recomputes_the_verdict() -> None:
    one = part("1/2", {"t": "passed"}, ["holds", "holds"])
    two = part("2/2", {"t": "passed", "s": "skipped"}, ["holds"])
    merged = merge_runs([("a", one), ("b", two)], "m")
    assert merged.verdict == PASS and merged.examples_run == 3
    assert merged.claim("healthy_sites_keep_flowing").counts == {"holds": 3}  # type: ignore[union-attr]
    assert [p.shard for p in merged.parts] == ["1/2", "2/2"]
    assert merged.tests == {"t": "passed", "s": "skipped"}


def test_one_part_s_failure_fails_the_whole_and_its_counterexample_is_kept() -> None:
    one = part("1/2", {"t": "passed"}, ["holds"])
    broken = example_record("t", "broken", name="found-by-2")
    two = part(
        "2/2",
        {"t": "failed"},
        ["broken"],
        counterexamples={
            "t/healthy": Counterexample.model_validate(
                {**broken.model_dump(), "explanation": "stalled", "shrunk": True}
            ).model_dump()
        },
        verdict=FAIL,
    )
    merged = merge_runs([("a", one), ("b", two)], "m")
    assert merged.verdict == FAIL and merged.tests == {"t": "failed"}
    assert list(merged.counterexamples) == ["t/healthy"]
    # Both parts found one for the same test and claim: both are kept.
    again = merge_runs([("a", two), ("b", two)], "m")
    assert len(again.counterexamples) == 2


def test_a_part_that_could_not_test_voids_the_whole() -> None:
    one = part("1/2", {"t": "passed"}, ["holds"])
    canary = Canary(mta="seedmta-sync", scenario="q193760.toml", verdict=PASS, run="x")
    two = part("2/2", {"t": "passed"}, ["holds"], verdict=ERROR, canary=canary.model_dump())
    merged = merge_runs([("a", one), ("b", two)], "m")
    assert merged.verdict == ERROR
    assert merged.canary == canary  # the canary that did not fail is the one shown
    errored = part("2/2", {"t": "passed"}, ["holds"], errors=["world would not start"])
    assert (
        "shard 2/2 (b): world would not start"
        in merge_runs([("a", one), ("b", errored)], "m").errors
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mta", "postfix"),
        ("harness_version", "0.0.1"),
        ("backend", "docker"),
        ("profile", "thorough"),
    ],
)
def test_parts_of_different_certifications_are_refused(field: str, value: str) -> None:
    one = part("1/2", {"t": "passed"}, ["holds"])
    other = part("2/2", {"t": "passed"}, ["holds"], **{field: value})
    with pytest.raises(UsageError, match=f"differ in {field}"):
        merge_runs([("a", one), ("b", other)], "m")


def shard_folder(root: Path, shard: str, seed: int = 5, suites: str = "suites") -> Path:
    run = part(shard, {"t": "passed"}, ["holds"])
    folder = root / shard.replace("/", "-of-")
    folder.mkdir()
    write_json_atomic(folder / "results.json", run.as_json())
    provenance = Provenance(suite_digest="sha256:x", fragment_digest=None, rootfs=None)
    write_certificate(folder, certificate(run, [suites], provenance, "certification", seed))
    return folder


def test_merge_makes_one_certificate_of_every_shard(tmp_path: Path) -> None:
    folders = [shard_folder(tmp_path, f"{k}/3") for k in (3, 1, 2)]
    _, cert = merge_folders(folders, tmp_path / "merged")
    assert cert.verdict == PASS and cert.examples_run == 3 and cert.shard is None
    assert [p.shard for p in cert.parts] == ["1/3", "2/3", "3/3"]
    assert {"results.json", "report.html", "certificate.json", "certificate.md"} <= {
        p.name for p in (tmp_path / "merged").iterdir()
    }
    assert "-n 3" in (tmp_path / "merged" / "certificate.md").read_text()


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        (["1/3", "2/3"], r"shard\(s\) 3/3 missing"),
        (["1/2", "1/2"], "given twice"),
        (["1/2", "2/3"], "divided differently"),
    ],
)
def test_an_incomplete_or_mixed_set_of_shards_is_refused(
    tmp_path: Path, shards: list[str], message: str
) -> None:
    folders = []
    for i, shard in enumerate(shards):
        (tmp_path / str(i)).mkdir()
        folders.append(shard_folder(tmp_path / str(i), shard))
    with pytest.raises(UsageError, match=message):
        merge_folders(folders, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()  # nothing half-written


def test_shards_of_different_seeds_or_suites_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    one = shard_folder(tmp_path / "a", "1/2")
    with pytest.raises(UsageError, match="differ in seed"):
        merge_folders([one, shard_folder(tmp_path / "b", "2/2", seed=6)], tmp_path / "m")
    with pytest.raises(UsageError, match="differ in suites"):
        merge_folders([one, shard_folder(tmp_path / "c", "2/2", suites="x")], tmp_path / "m")


def test_a_folder_that_is_no_shard_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no certificate\.json"):
        merge_folders([tmp_path], tmp_path / "m")


def test_a_certificate_says_the_load_it_was_played_at_and_how_to_repeat_it() -> None:
    from harness.report.certificate import markdown

    run = part("1/2", {"t": "passed"}, ["holds"])
    provenance = Provenance(suite_digest="sha256:x", fragment_digest=None, rootfs=None)
    cert = certificate(run, ["suites"], provenance, "certification", 5, load=30.0)
    assert cert.load == 30.0 and cert.shard == "1/2"
    assert "--seed 5 --shard 1/2 --load 30`" in markdown(cert)
    plain = certificate(run, ["suites"], provenance, "certification", 5)
    assert "--load" not in markdown(plain)
