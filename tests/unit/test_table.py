"""The certification table's layout: a column per backend and layer of faults, a "-" where an
MTA has no such layer, and "(unexpected)" wherever a verdict is not the expected one."""

from __future__ import annotations

from pathlib import Path

from harness.table import Row, certify_cell, layer_options, markdown

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
