"""The certification table: certify each MTA in turn and tabulate the verdicts.

``mta-harness table`` runs ``certify`` once per MTA (each in its own process, so one MTA's
trouble cannot colour another's verdict) and prints a Markdown table; ``--readme FILE``
replaces the table between the markers in that file.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.mta import get_adapter
from harness.record import Run, load_run
from harness.report.mta_words import failure_line
from harness.results import EXIT_INTERRUPTED, child_verdict

BEGIN = "<!-- certification-table:begin -->"
END = "<!-- certification-table:end -->"
#: (MTA, expected verdict): the known-good builds must pass, the known-bad must fail.
DEFAULT_MTAS = (
    ("postfix", "PASS"),
    ("postfix-hol", "FAIL"),
    ("exim", "PASS"),
    ("exim-hol", "FAIL"),
    ("opensmtpd", "PASS"),
    ("sendmail", "PASS"),
    ("sendmail-hol", "FAIL"),
    ("courier", "PASS"),
    ("courier-hol", "FAIL"),
    ("haraka", "PASS"),
    ("haraka-hol", "FAIL"),
    ("chasquid", "PASS"),
    ("maddy", "PASS"),
    ("maddy-hol", "FAIL"),
    ("seedmta-sync", "FAIL"),
    ("seedmta-async", "PASS"),
    ("postfix-pool", "FAIL"),
    ("seedmta-pool", "FAIL"),
)

#: Why each row's expected verdict is what it is (the table's "expected" column says it).
WHY_EXPECTED = {
    "postfix": "stock: a process per destination",
    "postfix-hol": "one smtp process",
    "postfix-pool": "process pool of 2: dead sites exhaust it",
    "exim": "stock: parallel remote deliveries",
    "exim-hol": "one delivery at a time",
    "opensmtpd": "stock: a route per destination",
    "sendmail": "stock: a delivery process per message",
    "sendmail-hol": "everything queued, one queue runner",
    "courier": "stock: up to 40 deliveries, 4 per host",
    "courier-hol": "one delivery at a time (MAXDELS=1)",
    "haraka": "stock: concurrent outbound deliveries",
    "haraka-hol": "one outbound delivery (concurrency_max=1)",
    "chasquid": "stock: a delivery loop per message; routed by MX",
    "maddy": "stock: 16 deliveries in parallel; routed by MX",
    "maddy-hol": "one delivery at a time (max_parallelism 1)",
    "seedmta-sync": "the seed's bug: one delivery loop",
    "seedmta-async": "the fix: a loop per next hop",
    "seedmta-pool": "two delivery workers shared by all hops",
}


#: Known-good tunings of stock builds that break a claim: ``fixtures/tuning/<mta>.<ext>``, a
#: configuration fragment with its reason and source in its header, certified as the table's
#: row ``<mta>-tuned`` (``certify --mta <mta> --mta-config <file>``), expected to PASS.
TUNINGS = Path(__file__).resolve().parent.parent / "fixtures" / "tuning"
TUNED = "-tuned"


@dataclass(frozen=True)
class Tuning:
    """One shipped tuning: the stock MTA it tunes and the fragment that does it."""

    mta: str
    fragment: Path

    @property
    def row(self) -> str:
        return self.mta + TUNED

    def settings(self) -> str:
        """What it sets, as the table's "expected" column says it: the fragment's lines."""
        lines = [line.strip() for line in self.fragment.read_text().splitlines()]
        return "; ".join(line for line in lines if line and not line.startswith(("#", ";")))


def tunings(folder: Path = TUNINGS) -> dict[str, Tuning]:
    """Every shipped tuning by its table row (``exim-tuned``)."""
    found = {}
    for path in sorted(folder.glob("*.*")) if folder.is_dir() else []:
        tuning = Tuning(path.name.split(".", 1)[0], path)
        found[tuning.row] = tuning
    return found


def default_rows() -> list[tuple[str, str]]:
    """The whole table's rows, (row, expected): every MTA, and after each stock MTA with a
    tuning its tuned row."""
    rows = []
    tuned = {t.mta: t for t in tunings().values()}
    for name, expected in DEFAULT_MTAS:
        rows.append((name, expected))
        if name in tuned:
            rows.append((tuned[name].row, "PASS"))
    return rows


def certify_options(row: str) -> tuple[str, list[str]]:
    """The ``--mta`` of a table row and the ``certify`` options it adds (a tuned row's
    ``--mta-config``)."""
    tuning = tunings().get(row)
    if tuning is None:
        return row, []
    return tuning.mta, ["--mta-config", str(tuning.fragment)]


def why_expected(row: str) -> str | None:
    """Why a row's expected verdict is what it is."""
    tuning = tunings().get(row)
    if tuning is not None:
        return f"stock + `{tuning.settings()}`, fixtures/tuning/{tuning.fragment.name}"
    return WHY_EXPECTED.get(row)


#: What each ``--faults`` layer certifies with, beyond ``--faults LAYER`` itself.
LAYER_OPTIONS = {"dns": ("--routing", "dns")}


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
    recovery: str = "-"
    #: The ``certify --faults`` it was certified under.
    faults: str = "certification"
    #: For a FAIL, the MTA's own words about its first counterexample's message.
    said: str = ""

    @property
    def column(self) -> str:
        return self.backend if self.faults == "certification" else f"{self.backend}, {self.faults}"


def layer_options(faults: str) -> list[str]:
    """The ``certify`` options for a column of ``faults``."""
    if faults == "certification":
        return []
    return ["--faults", faults, *LAYER_OPTIONS.get(faults, ())]


def certify_cell(
    mta: str, backend: str, expected: str, reports: Path, faults: str, label: bool = False
) -> Row:
    """One cell: :func:`certify_one`, or "-" where the MTA has no such layer (an MTA
    routed statically makes no DNS lookups to fault). ``label``: the cell runs beside
    others, its output lines marked with its name."""
    adapter = certify_options(mta)[0]
    if faults == "dns" and "dns" not in get_adapter(adapter).routings:
        return Row(mta, backend, expected, "-", "static routes only", "-", 0.0, "-", faults=faults)
    return certify_one(mta, backend, expected, reports, faults=faults, label=label)


def certify_cells(
    cells: list[tuple[str, str, str, str]], reports: Path, jobs: int = 1
) -> list[Row]:
    """Every cell ``(row, backend, expected, faults)``, ``jobs`` at a time (each certify is a
    process with a world of its own, on an address block of its own); rows in cell order.
    A Ctrl-C stops the cells running (they tear down) and starts no more."""
    if jobs <= 1:
        return [certify_cell(m, b, e, reports, f) for m, b, e, f in cells]
    stop = threading.Event()

    def cell(m: str, b: str, e: str, f: str) -> Row:
        if stop.is_set():
            return Row(m, b, e, "INTERRUPTED", "not started", "-", 0.0, "-", faults=f)
        return certify_cell(m, b, e, reports, f, label=True)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cell") as pool:
        futures = [pool.submit(cell, *c) for c in cells]
        try:
            return [future.result() for future in futures]
        except BaseException:
            stop.set()
            _PROCESSES.stop_all()
            raise


class _Children:
    """The certify processes running for a table, so a Ctrl-C reaches each of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()

    def add(self, child: subprocess.Popen[str]) -> None:
        with self._lock:
            self._running.add(child)

    def discard(self, child: subprocess.Popen[str]) -> None:
        with self._lock:
            self._running.discard(child)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for child in running:
            _stop(child)


_PROCESSES = _Children()
#: The line a certify prints naming its run record (a verdict's, or a partial one's).
_RECORD = re.compile(r"[Rr]un record: (\S+/results\.json)")


def worst_healthy_latency(results: Run) -> str:
    """The longest a message to a healthy site took (or waited, if it never arrived in time)
    across every example of the run."""
    worst = 0.0
    for example in results.examples:
        claim = example.claim("healthy_sites_keep_flowing")
        if claim is not None:
            worst = max(worst, claim.figures.get("worst", 0.0))
    return f"{worst:.2f} s"


def recovery_and_loss(results: Run) -> str:
    """The run's graded recovery (worst heal-to-delivery) and its loss verdict, briefly."""
    parts = []
    recovery = results.claim("prompt_recovery")
    if recovery is not None and "worst" in recovery.figures:
        mark = " (slow)" if recovery.verdict == "warning" else ""
        parts.append(f"recovery worst {recovery.figures['worst']:.1f} s{mark}")
    loss = results.claim("no_loss")
    if loss is not None:
        retried = loss.figures.get("after_retry", 0)
        parts.append(f"loss {loss.verdict}" + (f", {retried:g} after retry" if retried else ""))
    return "; ".join(parts) or "-"


def broken_properties(results: Run) -> str:
    names: list[str] = []
    for counterexample in results.counterexamples.values():
        names += [p.name for p in counterexample.claims if not p.holds]
    explained = {c.test for c in results.counterexamples.values()}
    names += [test.split("::")[-1] for test in results.failures if test not in explained]
    if results.errors:
        names.append("harness error")
    return ", ".join(dict.fromkeys(names)) or "-"


def certify_one(
    mta: str,
    backend: str,
    expected: str,
    reports: Path,
    extra: list[str] | None = None,
    faults: str = "certification",
    label: bool = False,
) -> Row:
    """Certify ``mta`` (a table row: an MTA, or a tuned one) on ``backend`` under ``faults``
    in a process of its own; its run record makes the row.

    ``extra`` are more ``certify`` options. On Ctrl-C or SIGTERM the child is asked to stop
    (SIGTERM: it tears its world down) before the interrupt goes on. ``label``: the child
    runs beside others, so its output is read (each line marked with the cell) and the run
    record is the one it names, not the newest folder in ``reports``.
    """
    adapter, options = certify_options(mta)
    extra = options + layer_options(faults) + list(extra or [])
    before = set(reports.iterdir()) if reports.exists() else set()
    started = time.monotonic()
    command = [sys.executable, "-m", "harness", "certify", "--mta", adapter, "--backend", backend]
    argv = [*command, "--reports", str(reports), *extra]
    named: list[Path] = []
    if label:
        tag = f"[{mta} {backend}{'' if faults == 'certification' else ' ' + faults}] "
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _PROCESSES.add(child)
        status = _relay(child, tag, named.append)
        _PROCESSES.discard(child)
    else:
        child = subprocess.Popen(argv, text=True)  # its output goes straight to ours
        try:
            status = child.wait()
        except BaseException:
            _stop(child)
            raise
    seconds = time.monotonic() - started
    if label:
        new = [path.parent for path in named]
    else:
        new = sorted(set(reports.iterdir()) - before) if reports.exists() else []
    if not new or not (new[-1] / "results.json").exists():
        verdict = "INTERRUPTED" if status == EXIT_INTERRUPTED else "ERROR"
        return Row(
            mta, backend, expected, verdict, "no results written", "-", seconds, "-", faults=faults
        )
    try:
        results = load_run(new[-1] / "results.json")
    except UsageError as exc:  # a record it could not finish or another harness's: no verdict
        return Row(
            mta, backend, expected, "ERROR", str(exc), "-", seconds, str(new[-1]), faults=faults
        )
    return Row(
        mta,
        backend,
        expected,
        child_verdict(results, status),
        broken_properties(results),
        worst_healthy_latency(results),
        seconds,
        str(new[-1]),
        recovery_and_loss(results),
        faults,
        mta_said(results, new[-1]) if results.verdict == "FAIL" else "",
    )


def mta_said(results: Run, run_dir: Path) -> str:
    """The MTA's words about a FAIL's first counterexample (its refusal, its queue's
    reason, or its log's line about the message), from the run's kept logs."""
    log: list[str] = []
    for path in sorted(run_dir.glob(f"logs-*/{results.mta}*.log")):
        try:
            log += path.read_text(errors="replace").splitlines()
        except OSError:
            continue
    return failure_line(results.counterexamples.values(), log) or ""


def _stop(child: subprocess.Popen[str]) -> None:
    child.terminate()
    try:
        child.wait(timeout=120)  # a docker world takes a while to take down
    except subprocess.TimeoutExpired:
        child.kill()  # what it leaves, the next run reaps
        child.wait()


def _relay(child: subprocess.Popen[str], tag: str, record: Callable[[Path], None]) -> int:
    """Print the child's lines marked with ``tag``, note the run record it names, and
    return its exit status."""
    assert child.stdout is not None
    try:
        for line in child.stdout:
            found = _RECORD.search(line)
            if found:
                record(Path(found.group(1)))
            print(tag + line, end="", flush=True)
        return child.wait()
    except BaseException:
        _stop(child)
        raise


def markdown(rows: list[Row], command: str) -> str:
    """One line per MTA, one verdict column per backend (and layer of faults, where the
    table certified under more than one)."""
    columns = list(dict.fromkeys(row.column for row in rows))
    lines = [
        BEGIN,
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d', time.gmtime())} "
        "(profile ci, bound 3 s, recovery bound 30 s). Cells: verdict, claim broken, "
        "worst healthy-site latency, recovery (graded) and loss, run time.",
        "",
        "| MTA | expected | " + " | ".join(columns) + " |",
        "| --- | --- |" + " --- |" * len(columns),
    ]
    for mta in dict.fromkeys(row.mta for row in rows):
        cells = []
        expected = "?"
        for column in columns:
            row = next((r for r in rows if r.mta == mta and r.column == column), None)
            if row is None:
                cells.append("-")
                continue
            expected = row.expected
            if row.verdict == "-":
                cells.append(f"- ({row.broken})")
                continue
            mark = "" if row.verdict == row.expected else " (unexpected)"
            said = f'; the MTA: "{_cell_text(row.said)}"' if row.said else ""
            cells.append(
                f"**{row.verdict}**{mark}: {row.broken}; {row.worst_healthy}; {row.recovery}; "
                f"{row.seconds:.0f} s{said}"
            )
        why = why_expected(mta)
        expected += f" ({why})" if why else ""
        lines.append(f"| {mta} | {expected} | " + " | ".join(cells) + " |")
    lines.append(END)
    return "\n".join(lines)


def _cell_text(text: str) -> str:
    """``text`` safe inside a Markdown table cell and its quotes."""
    return text.replace("|", "\\|").replace('"', "'").replace("\n", " ").replace("\t", " ")


def replace_table(readme: Path, table: str) -> None:
    """Put ``table`` between the markers in ``readme`` (or at its end; a new file holds the
    table alone)."""
    text = readme.read_text() if readme.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    readme.write_text(text)
