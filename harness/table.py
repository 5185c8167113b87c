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

from harness.results import EXIT_INTERRUPTED

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


def certify_one(
    mta: str, backend: str, expected: str, reports: Path, extra: list[str] | None = None
) -> Row:
    """Certify ``mta`` on ``backend`` in a process of its own; its run record makes the row.

    ``extra`` are more ``certify`` options. On Ctrl-C or SIGTERM the child is asked to stop
    (SIGTERM: it tears its world down) before the interrupt goes on.
    """
    before = set(reports.iterdir()) if reports.exists() else set()
    started = time.monotonic()
    command = [sys.executable, "-m", "harness", "certify", "--mta", mta, "--backend", backend]
    child = subprocess.Popen([*command, "--reports", str(reports), *(extra or [])])
    try:
        status = child.wait()
    except BaseException:
        child.terminate()
        try:
            child.wait(timeout=120)  # a docker world takes a while to take down
        except subprocess.TimeoutExpired:
            child.kill()  # what it leaves, the next run reaps
            child.wait()
        raise
    seconds = time.monotonic() - started
    new = sorted(set(reports.iterdir()) - before) if reports.exists() else []
    if not new or not (new[-1] / "results.json").exists():
        verdict = "INTERRUPTED" if status == EXIT_INTERRUPTED else "ERROR"
        return Row(mta, backend, expected, verdict, "no results written", "-", seconds, "-")
    results = json.loads((new[-1] / "results.json").read_text())
    return Row(
        mta,
        backend,
        expected,
        "INTERRUPTED" if results.get("interrupted") else results["verdict"],
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
