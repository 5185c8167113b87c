"""The certification table's layout: a column per backend and layer of faults, a "-" where an
MTA has no such layer, and "(unexpected)" wherever a verdict is not the expected one."""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import pytest

from harness import table
from harness.mta import get_adapter
from harness.table import (
    Row,
    certify_cell,
    certify_options,
    default_rows,
    layer_options,
    markdown,
    tunings,
    why_expected,
)

from ..conftest import STATIC_ONLY_MTA


def row(mta: str, verdict: str, faults: str = "certification", expected: str = "PASS") -> Row:
    return Row(mta, "local", expected, verdict, "-", "0.10 s", 60.0, "r", faults=faults)


def test_each_layer_of_faults_is_a_column_of_its_own() -> None:
    rows = [
        row("postfix", "PASS"),
        row("postfix", "PASS", "tls"),
        row("postfix", "FAIL", "dns"),
        row("exim", "PASS"),
        row("exim", "PASS", "tls"),
        Row("exim", "local", "PASS", "-", "static routes only", "-", 0.0, "-", faults="dns"),
    ]
    text = markdown(rows, "mta-harness table --faults certification --faults tls --faults dns")
    header = next(line for line in text.splitlines() if line.startswith("| MTA"))
    assert header == "| MTA | expected | local | local, tls | local, dns |"
    postfix = next(line for line in text.splitlines() if line.startswith("| postfix |"))
    assert postfix.count("**PASS**") == 2 and "**FAIL** (unexpected)" in postfix
    exim = next(line for line in text.splitlines() if line.startswith("| exim |"))
    assert exim.endswith("| - (static routes only) |") and "unexpected" not in exim


def test_a_layer_certifies_with_its_own_options_and_a_static_mta_has_no_dns_cell(
    tmp_path: Path,
) -> None:
    assert layer_options("certification") == []
    assert layer_options("tls") == ["--faults", "tls"]
    assert layer_options("dns") == ["--faults", "dns", "--routing", "dns"]
    cell = certify_cell(STATIC_ONLY_MTA, "docker", "PASS", tmp_path, "dns")  # nothing is started
    assert (cell.verdict, cell.broken, cell.column) == ("-", "static routes only", "docker, dns")
    assert not any(tmp_path.iterdir())


def test_a_shipped_tuning_is_a_row_after_its_stock_mta_certified_with_its_fragment() -> None:
    rows = dict(default_rows())
    names = list(rows)
    assert names.index("exim-tuned") == names.index("exim") + 1
    assert rows["exim-tuned"] == "PASS"
    mta, options = certify_options("exim-tuned")
    assert mta == "exim" and options[0] == "--mta-config"
    assert Path(options[1]).name == "exim.conf" and Path(options[1]).is_file()
    assert certify_options("exim") == ("exim", [])
    why = why_expected("exim-tuned")
    assert why is not None and "smtp_accept_queue_per_connection = 0" in why


def test_every_tuning_names_a_known_mta_and_says_why_and_where_from(tmp_path: Path) -> None:
    for tuning in tunings().values():
        get_adapter(tuning.mta)  # raises for an unknown MTA
        header = tuning.fragment.read_text()
        assert "Why:" in header and "Source:" in header, tuning.fragment
        assert tuning.settings(), f"{tuning.fragment} sets nothing"
    (tmp_path / "postfix.cf").write_text("# Why: x\ndefault_process_limit = 100\n")
    assert tunings(tmp_path)["postfix-tuned"].settings() == "default_process_limit = 100"


def test_cells_run_side_by_side_and_come_back_in_cell_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    running, most = 0, 0
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=10)  # fails unless two cells run at once

    def cell(mta: str, backend: str, expected: str, reports: Path, faults: str, label: bool) -> Row:
        nonlocal running, most
        assert label, "a cell beside others must mark its output"
        with lock:
            running += 1
            most = max(most, running)
        both.wait()
        with lock:
            running -= 1
        return row(mta, "PASS")

    monkeypatch.setattr(table, "certify_cell", cell)
    cells = [(m, "local", "PASS", "certification") for m in ("a", "b", "c", "d")]
    rows = table.certify_cells(cells, tmp_path, jobs=2)
    assert [r.mta for r in rows] == ["a", "b", "c", "d"] and most == 2


def test_a_cell_beside_others_marks_its_lines_and_takes_the_record_its_child_names() -> None:
    class Child:  # what _relay reads of a certify process: its output, then its status
        stdout = io.StringIO("example 1: holds\nRun record: /r/20261207-1/results.json and x\n")

        def wait(self) -> int:
            return 0

    named: list[Path] = []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert table._relay(Child(), "[exim local] ", named.append) == 0  # type: ignore[arg-type]
    assert named == [Path("/r/20261207-1/results.json")]
    assert out.getvalue().splitlines()[0] == "[exim local] example 1: holds"


def test_the_table_replaces_its_own_markers_and_starts_a_file_that_is_not_there(
    tmp_path: Path,
) -> None:
    text = markdown([row("postfix", "PASS")], "mta-harness table")
    new = tmp_path / "table.md"
    table.replace_table(new, text)  # an hour of certifications must not end in a traceback
    assert new.read_text().strip() == text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{table.BEGIN}\nold\n{table.END}\n\nafter\n")
    table.replace_table(readme, text)
    assert "old" not in readme.read_text() and readme.read_text().endswith("\n\nafter\n")
