"""``mta-harness merge``: the shards of one certification (``certify --shard K/N``, run on
as many machines) made one run record, report and certificate.

Each shard's folder holds its ``results.json`` and ``certificate.json``. They are merged only
if they are the shards of one certification: the same MTA build, harness version, backend,
suites and their digests, faults, profile, bounds and run seed, and every shard of the same
N present once. Anything else is refused with what differs, since a merged certificate that
silently lacked a shard could hide the one that found a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.errors import UsageError
from harness.merge import merge_runs
from harness.record import Run, load_run
from harness.report.certificate import Certificate, certificate, write_certificate
from harness.results import write_json_atomic
from harness.shards import Shard, parse_shard

#: What the shards' certificates must agree on, beside what :func:`merge_runs` checks.
_SAME = ("claim", "mta", "suites", "provenance", "faults", "seed", "load")


def load_shard(folder: Path) -> tuple[Run, Certificate]:
    """A shard's record and certificate, or one UsageError naming the folder."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a run folder")
    path = folder / "certificate.json"
    if not path.exists():
        raise UsageError(
            f"{folder}: no certificate.json (a shard is merged once its certify run finished)"
        )
    try:
        cert = Certificate.model_validate_json(path.read_text())
    except ValueError as exc:
        first = str(exc).splitlines()
        raise UsageError(
            f"{path}: not a certificate: {first[1] if len(first) > 1 else exc}"
        ) from None
    return load_run(folder / "results.json"), cert


def check_shards(shards: Sequence[tuple[Path, Certificate]]) -> int:
    """Refuse certificates that are not the whole set of shards of one certification; the
    number of shards N."""
    first_folder, first = shards[0]
    for folder, cert in shards:
        if cert.shard is None:
            raise UsageError(f"{folder}: not a shard (it was certified without --shard K/N)")
        for field in _SAME:
            if getattr(cert, field) != getattr(first, field):
                raise UsageError(
                    f"cannot merge {folder} with {first_folder}: they differ in {field}, so "
                    "they are not shards of one certification"
                )
    parts: dict[Shard, Path] = {}
    for folder, cert in shards:
        shard = parse_shard(str(cert.shard))
        if shard.count != parse_shard(str(first.shard)).count:
            raise UsageError(
                f"cannot merge {folder} (shard {shard}) with {first_folder} (shard "
                f"{first.shard}): the search was divided differently"
            )
        if shard in parts:
            raise UsageError(f"shard {shard} given twice: {parts[shard]} and {folder}")
        parts[shard] = folder
    count = next(iter(parts)).count
    missing = [str(Shard(k, count)) for k in range(1, count + 1) if Shard(k, count) not in parts]
    if missing:
        raise UsageError(
            f"shard(s) {', '.join(missing)} missing: a certificate of part of the search "
            "could hide the failure the missing shard found"
        )
    return count


def merge_folders(folders: Sequence[Path], out: Path) -> tuple[Run, Certificate]:
    """Merge the shards in ``folders`` into ``out`` (created): results.json, report.html,
    certificate.json and certificate.md. Nothing is written unless every check passed."""
    loaded = [(folder, *load_shard(folder)) for folder in folders]
    if not loaded:
        raise UsageError("merge: name the shards' run folders")
    check_shards([(folder, cert) for folder, _, cert in loaded])
    ordered = sorted(loaded, key=lambda item: parse_shard(str(item[2].shard)))
    merged = merge_runs([(str(folder), run) for folder, run, _ in ordered], out.name)
    first = ordered[0][2]
    issued = certificate(
        merged,
        suites=first.suites,
        provenance=first.provenance,
        faults=first.faults,
        seed=first.seed,
        canary=merged.canary,
        load=first.load,
    )
    out.mkdir(parents=True, exist_ok=False)
    from harness.report.html import write_report

    write_json_atomic(out / "results.json", merged.as_json())
    write_report(out, merged)
    write_certificate(out, issued)
    return merged, issued
