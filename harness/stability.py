"""``mta-harness stability``: certify the same MTAs many times and count false verdicts.

A certification tool earns trust by giving the same verdict every time: a known-good MTA
must never FAIL, a known-bad one must never PASS, and the harness must not ERROR. This
certifies each MTA ``runs`` times (round robin, so a stopped session still has even counts),
each run in a process of its own through :func:`harness.table.certify_one`, optionally with
busy processes beside it (``--cpu-hog``) to starve the harness of CPU the way a loaded CI
machine does.

Everything lands in ``<reports>/stability-<id>/``: ``stability.json`` (rewritten after every
run, so a stopped session keeps its figures), ``stability.md`` (the table) and ``runs/`` (each
certification's own run folder, with its seed, so any false verdict can be repeated).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.results import EXIT_INTERRUPTED, FAIL, PASS, write_json_atomic, write_text_atomic
from harness.runtime import (
    OWNER_LABEL,
    ROOT_LABEL,
    RUN_LABEL,
    new_run_id,
    owner_token,
    runtime_root,
)
from harness.table import Row, certify_one

#: What a spinning hog runs: pure Python arithmetic, no I/O, never ends on its own.
_SPIN = "while True: pass"


@dataclass
class Tally:
    """One MTA's verdicts over every run so far."""

    mta: str
    expected: str
    rows: list[Row] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(row.verdict == verdict for row in self.rows)

    @property
    def false_verdicts(self) -> list[Row]:
        """Runs that gave the verdict opposite to the expected one (an ERROR is not a
        verdict about the MTA, so it is counted apart)."""
        return [r for r in self.rows if r.verdict in (PASS, FAIL) and r.verdict != r.expected]

    @property
    def other(self) -> list[Row]:
        """Runs that gave no verdict about the MTA: ERROR, or interrupted."""
        return [r for r in self.rows if r.verdict not in (PASS, FAIL)]

    def seconds(self) -> str:
        times = [r.seconds for r in self.rows]
        if not times:
            return "-"
        return f"{statistics.median(times):.0f} / {max(times):.0f}"


@contextlib.contextmanager
def cpu_hog(processes: int, name: str = "cpu-hog") -> Iterator[list[int]]:
    """Run ``processes`` busy loops beside the block; each is labelled like a run's process
    (run ``name``), so if this process is killed the next run (or ``mta-harness gc``) reaps
    them."""
    labels = {
        RUN_LABEL: name,
        OWNER_LABEL: owner_token(),
        ROOT_LABEL: str(runtime_root()),
    }
    hogs = [
        subprocess.Popen(
            [sys.executable, "-c", _SPIN],
            env={**os.environ, **labels},
            start_new_session=True,  # a Ctrl-C at the terminal is ours to pass on, not theirs
            stdin=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    try:
        yield [hog.pid for hog in hogs]
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait()


def _table(tallies: list[Tally], command: str, hog: int) -> str:
    lines = [
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, {hog} busy process(es) beside it.",
        "",
        "| MTA | expected | runs | PASS | FAIL | ERROR / other | false verdicts "
        "| run time median / max (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in tallies:
        lines.append(
            f"| {t.mta} | {t.expected} | {len(t.rows)} | {t.count(PASS)} | {t.count(FAIL)} "
            f"| {len(t.other)} | {len(t.false_verdicts)} | {t.seconds()} |"
        )
    odd = [r for t in tallies for r in t.false_verdicts + t.other]
    if odd:
        lines += ["", "Runs that did not give the expected verdict:", ""]
        lines += [f"- {r.mta}: {r.verdict} ({r.broken}), run folder {r.run_dir}" for r in odd]
    return "\n".join(lines) + "\n"


def run_stability(
    mtas: list[tuple[str, str]],
    runs: int,
    backend: str,
    reports: Path,
    hog: int,
    certify_args: list[str],
    command: str,
) -> int:
    """Certify each ``(mta, expected verdict)`` ``runs`` times; exit 0 when every run gave its
    expected verdict, 1 otherwise, 130 when stopped (the figures so far are kept)."""
    folder = reports / f"stability-{new_run_id()}"
    folder.mkdir(parents=True)
    tallies = [Tally(mta, expected) for mta, expected in mtas]
    total = runs * len(tallies)

    def save() -> None:
        write_json_atomic(
            folder / "stability.json",
            {
                "command": command,
                "backend": backend,
                "cpu_hog": hog,
                "cpus": os.cpu_count(),
                "runs_per_mta": runs,
                "mtas": [
                    {
                        "mta": t.mta,
                        "expected": t.expected,
                        "false_verdicts": len(t.false_verdicts),
                        "runs": [asdict(r) for r in t.rows],
                    }
                    for t in tallies
                ],
            },
        )
        write_text_atomic(folder / "stability.md", _table(tallies, command, hog))

    print(f"stability: {runs} run(s) of {', '.join(t.mta for t in tallies)}; record in {folder}")
    try:  # SIGTERM raises KeyboardInterrupt too (harness.interrupts, installed by the CLI)
        with cpu_hog(hog, f"cpu-hog-{folder.name}"):
            done = 0
            for _ in range(runs):
                for tally in tallies:
                    row = certify_one(
                        tally.mta, backend, tally.expected, folder / "runs", certify_args
                    )
                    tally.rows.append(row)
                    done += 1
                    mark = "" if row.verdict == row.expected else "  <-- not the expected verdict"
                    print(
                        f"[{done}/{total}] {row.mta}: {row.verdict} (expected {row.expected}) "
                        f"in {row.seconds:.0f} s, {row.run_dir}{mark}",
                        flush=True,
                    )
                    save()
                    if row.verdict == "INTERRUPTED":
                        raise KeyboardInterrupt
    except KeyboardInterrupt:
        save()
        print(f"\nINTERRUPTED after {sum(len(t.rows) for t in tallies)} run(s); figures so far:")
        print(_table(tallies, command, hog))
        return EXIT_INTERRUPTED
    save()
    print("\n" + _table(tallies, command, hog))
    print(f"Record: {folder / 'stability.json'}")
    good = all(not t.false_verdicts and not t.other for t in tallies)
    return 0 if good else 1
