"""``mta-harness report``: past runs and their verdicts, and where each one's page is."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.report.html import write_report


@dataclass(frozen=True)
class PastRun:
    folder: Path
    results: dict[str, Any]

    @property
    def verdict(self) -> str:
        if self.results.get("interrupted"):
            return "INTERRUPTED"
        if self.results.get("partial"):
            return "PARTIAL"
        return str(self.results.get("verdict", "?"))

    def line(self) -> str:
        started = self.results.get("started")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) if started else "?"
        identity = self.results.get("identity") or {}
        mta = f"{self.results.get('mta', '?')} {identity.get('version', '')}".strip()
        return (
            f"{self.folder.name:<34} {when}  {self.verdict:<11} {mta:<28} "
            f"{self.results.get('backend', '?'):<7} {self.results.get('examples_run', 0):>4}"
        )


def past_runs(reports: Path) -> list[PastRun]:
    """Run folders under ``reports`` that hold a readable results.json, oldest first."""
    runs = []
    for results in sorted(reports.glob("*/results.json")):
        try:
            runs.append(PastRun(results.parent, json.loads(results.read_text())))
        except (OSError, json.JSONDecodeError):
            continue  # a folder being written right now, or not ours
    return sorted(runs, key=lambda r: float(r.results.get("started") or 0))


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
