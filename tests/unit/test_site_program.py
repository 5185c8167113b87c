"""Which program a site runs: the compiled one where it is built, the aiosmtpd one when asked
or where it is not; a bad choice is one clear message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.sites import program
from harness.sites.program import CHOICE, site_argv

BUILT = Path("/opt/bin/mta-harness-site")


def test_the_compiled_site_runs_where_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHOICE, raising=False)
    monkeypatch.setattr(program, "compiled_site", lambda: BUILT)
    argv = site_argv("site-a", "127.0.3.11:2525", acceptors=2)
    assert argv[0] == str(BUILT)
    assert argv[1:] == ["--name", "site-a", "--listen", "127.0.3.11:2525", "--acceptors", "2"]


def test_the_aiosmtpd_site_runs_when_asked_or_where_none_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = [sys.executable, "-m", "harness.sites.server", "--name", "site-a"]
    monkeypatch.setattr(program, "compiled_site", lambda: BUILT)
    monkeypatch.setenv(CHOICE, "python")
    assert site_argv("site-a", "127.0.3.11:2525", 2)[:5] == expected
    assert site_argv("site-a", "127.0.3.11:2525", 2)[-2:] == ["--acceptors", "2"]
    monkeypatch.delenv(CHOICE)
    monkeypatch.setattr(program, "compiled_site", lambda: None)
    assert site_argv("site-a", "127.0.3.11:2525")[:5] == expected


def test_asking_for_a_site_that_is_not_there_is_one_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(program, "compiled_site", lambda: None)
    monkeypatch.setenv(CHOICE, "compiled")
    with pytest.raises(UsageError, match="not built: run make setup"):
        site_argv("site-a", "127.0.3.11:2525")
    monkeypatch.setenv(CHOICE, "go")
    with pytest.raises(UsageError, match="MTA_HARNESS_SITE=go: it is one of compiled, python"):
        site_argv("site-a", "127.0.3.11:2525")
