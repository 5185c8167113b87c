"""Unit tests start no process: anything that tries fails at once, naming the rule (such a
test belongs in tests/integration/)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError(
        "a unit test started a process: move it to tests/integration/ (tests/README.md)"
    )


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(subprocess.Popen, "__init__", _no_process)
    yield
