"""The public API (``harness/__init__.py``): every name resolves at run time, type checkers
see the same names as the real objects (not ``Any``), and the shipped suites, which are what
users copy, import nothing else from the harness."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import harness

REPO = Path(__file__).resolve().parents[2]


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse((REPO / "harness" / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
    )
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: re-export it as itself"
            names[alias.name] = node.module
    return names


def test_every_public_name_resolves_to_the_object_its_module_defines() -> None:
    for name, module in harness._PUBLIC.items():
        assert getattr(harness, name) is getattr(importlib.import_module(module), name), name
    assert set(harness.__all__) == {*harness._PUBLIC, "__version__"}


def test_type_checkers_see_exactly_the_public_names() -> None:
    assert _type_checking_imports() == harness._PUBLIC


def test_mypy_sees_real_types_not_any(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import harness\n" + "".join(f"reveal_type(harness.{name})\n" for name in harness._PUBLIC)
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(probe)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    revealed = [line for line in done.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == len(harness._PUBLIC), done.stdout
    assert not [line for line in revealed if '"Any"' in line], done.stdout


def test_the_shipped_suites_use_only_the_public_api() -> None:
    for suite in sorted((REPO / "suites").rglob("*.py")):
        tree = ast.parse(suite.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("harness.")
            ):
                raise AssertionError(f"{suite.relative_to(REPO)} imports from {node.module}")
