"""``mta-harness report``: past runs and their verdicts, and where each one's page is."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.record import Run, load_run
from harness.report.html import write_report


@dataclass(frozen=True)
class PastRun:
    folder: Path
    results: Run

    @property
    def verdict(self) -> str:
        if self.results.interrupted:
            return "INTERRUPTED"
        if self.results.partial:
            return "PARTIAL"
        return self.results.verdict

    def line(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.results.started))
        identity = self.results.identity
        mta = f"{self.results.mta} {identity.version if identity else ''}".strip()
        return (
            f"{self.folder.name:<34} {when}  {self.verdict:<11} {mta:<28} "
            f"{self.results.backend:<7} {self.results.examples_run:>4}"
        )


def past_runs(reports: Path) -> list[PastRun]:
    """Run folders under ``reports`` that hold a readable results.json, oldest first; a
    record of another shape (an older harness's) is named, not listed."""
    runs = []
    for results in sorted(reports.glob("*/results.json")):
        try:
            runs.append(PastRun(results.parent, load_run(results)))
        except UsageError as exc:
            print(f"mta-harness: skipped {exc}", file=sys.stderr)
    return sorted(runs, key=lambda r: r.results.started)


def report_page(run: PastRun) -> Path:
    """The run's report.html, rendered now if the run ended before writing one."""
    page = run.folder / "report.html"
    if not page.exists():
        write_report(run.folder, run.results)
    return page


def report_command(reports: Path, run: str | None, latest: bool) -> int:
    runs = past_runs(reports)
    if run is not None:
        folder = Path(run) if Path(run).is_dir() else reports / run
        match = [r for r in runs if r.folder.resolve() == folder.resolve()]
        if not match:
            raise UsageError(f"no run record at {folder} (see: mta-harness report)")
        print(report_page(match[0]).resolve())
        return 0
    if not runs:
        raise UsageError(f"no runs under {reports}/ yet (mta-harness certify makes one)")
    if latest:
        print(report_page(runs[-1]).resolve())
        return 0
    print(f"{'run':<34} {'started':<16}  {'verdict':<11} {'MTA':<28} {'backend':<7} examples")
    for past in runs:
        print(past.line())
    print(f"\n{len(runs)} run(s) under {reports}/; mta-harness report RUN prints one's report.html")
    return 0
