"""Setup names what is missing instead of failing obscurely."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prereqs(python: str, go: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ROOT / ".ci" / "prereqs.sh"), python, go],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_missing_python_is_named_with_what_to_install(tmp_path: Path) -> None:
    done = prereqs("/nonexistent/python3", "go", tmp_path)
    assert done.returncode == 1
    assert "install Python 3.11 or newer" in done.stderr


def test_a_missing_go_is_named_when_toxiproxy_must_be_built(tmp_path: Path) -> None:
    done = prereqs("python3", "/nonexistent/go", tmp_path)  # tmp_path has no .tools/
    assert done.returncode == 1
    assert "Go not found" in done.stderr and "Toxiproxy 2.12.0" in done.stderr


def test_go_is_not_needed_once_toxiproxy_is_built(tmp_path: Path) -> None:
    binary = tmp_path / ".tools" / "bin" / "toxiproxy-server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    done = prereqs("python3", "/nonexistent/go", tmp_path)
    assert done.returncode == 0, done.stderr
