"""The certification table: certify each MTA in turn and tabulate the verdicts.

``mta-harness table`` runs ``certify`` once per MTA (each in its own process, so one MTA's
trouble cannot colour another's verdict) and prints a Markdown table; ``--readme FILE``
replaces the table between the markers in that file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEGIN = "<!-- certification-table:begin -->"
END = "<!-- certification-table:end -->"
#: (MTA, expected verdict): the known-good builds must pass, the known-bad must fail.
DEFAULT_MTAS = (
    ("postfix", "PASS"),
    ("postfix-hol", "FAIL"),
    ("exim", "PASS"),
    ("exim-hol", "FAIL"),
    ("opensmtpd", "PASS"),
    ("seedmta-sync", "FAIL"),
    ("seedmta-async", "PASS"),
)


@dataclass
class Row:
    mta: str
    backend: str
    expected: str
    verdict: str
    broken: str
    worst_healthy: str
    seconds: float
    run_dir: str


def worst_healthy_latency(results: dict[str, Any]) -> str:
    """The longest a message to a healthy site took (or waited, if it never arrived in time)
    across every example of the run."""
    worst = 0.0
    for example in results.get("examples", []):
        healthy = set(example["scenario"]["healthy"])
        for prop in example["properties"]:
            for item in prop["evidence"]:
                if "waited" in item:
                    worst = max(worst, float(item["waited"]))
        for message in example["messages"]:
            if message["site"] in healthy and message["latency"] is not None:
                worst = max(worst, float(message["latency"]))
    return f"{worst:.2f} s"


def broken_properties(results: dict[str, Any]) -> str:
    names: list[str] = []
    for counterexample in results.get("counterexamples", {}).values():
        names += [p["name"] for p in counterexample["properties"] if not p["holds"]]
    names += [
        test.split("::")[-1]
        for test in results.get("failures", {})
        if test not in results.get("counterexamples", {})
    ]
    if results.get("errors"):
        names.append("harness error")
    return ", ".join(dict.fromkeys(names)) or "-"


def certify_one(mta: str, backend: str, expected: str, reports: Path) -> Row:
    """Certify ``mta`` on ``backend`` in a process of its own; its run record makes the row."""
    before = set(reports.iterdir()) if reports.exists() else set()
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "certify",
            "--mta",
            mta,
            "--backend",
            backend,
            "--reports",
            str(reports),
        ],
        check=False,
    )
    seconds = time.monotonic() - started
    new = sorted(set(reports.iterdir()) - before)
    if not new or not (new[-1] / "results.json").exists():
        return Row(mta, backend, expected, "ERROR", "no results written", "-", seconds, "-")
    results = json.loads((new[-1] / "results.json").read_text())
    return Row(
        mta,
        backend,
        expected,
        results["verdict"],
        broken_properties(results),
        worst_healthy_latency(results),
        seconds,
        str(new[-1]),
    )


def markdown(rows: list[Row], command: str) -> str:
    """One line per MTA, one verdict column per backend."""
    backends = list(dict.fromkeys(row.backend for row in rows))
    lines = [
        BEGIN,
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())} "
        "(profile ci, bound 3 s, recovery bound 30 s). Cells: verdict, property broken, "
        "worst healthy-site latency, run time.",
        "",
        "| MTA | expected | " + " | ".join(backends) + " |",
        "| --- | --- |" + " --- |" * len(backends),
    ]
    for mta in dict.fromkeys(row.mta for row in rows):
        cells = []
        expected = "?"
        for backend in backends:
            row = next((r for r in rows if r.mta == mta and r.backend == backend), None)
            if row is None:
                cells.append("-")
                continue
            expected = row.expected
            mark = "" if row.verdict == row.expected else " (unexpected)"
            cells.append(
                f"**{row.verdict}**{mark}: {row.broken}; {row.worst_healthy}; {row.seconds:.0f} s"
            )
        lines.append(f"| {mta} | {expected} | " + " | ".join(cells) + " |")
    lines.append(END)
    return "\n".join(lines)


def replace_table(readme: Path, table: str) -> None:
    text = readme.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    readme.write_text(text)
