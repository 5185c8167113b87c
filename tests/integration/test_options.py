"""Run options are defined once (harness/options.py): the CLI and plain pytest take the same
flags, validate them the same way and hand them on unchanged."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from harness.claims import Bounds
from harness.cli import build_parser, main
from harness.options import RUN_OPTIONS, pytest_args, run_bounds


def test_every_run_option_is_on_both_certify_and_pytest() -> None:
    certify_help = build_parser().parse_known_args(["certify"])[0]
    for option in RUN_OPTIONS:
        assert hasattr(certify_help, option.dest), option.flag
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    for option in RUN_OPTIONS:
        assert option.flag in done.stdout, option.flag


def test_a_bad_bound_is_the_same_usage_error_through_pytest_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        main(["certify", "--bound", "-1", "--reports", str(tmp_path)])
    cli_err = capsys.readouterr().err
    assert exited.value.code == 2 and "must be more than 0 seconds" in cli_err
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--bound=-1", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "must be more than 0 seconds" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_hands_on_what_it_was_given_and_nothing_else() -> None:
    args = build_parser().parse_args(
        ["certify", "--mta", "postfix", "--bound", "5", "--strict-duplicates"]
    )
    handed = pytest_args(args)
    assert "--mta=postfix" in handed and "--bound=5.0" in handed
    assert "--strict-duplicates" in handed and "--require-recovery" not in handed
    assert not any(a.startswith("--recovery-bound") for a in handed)


def test_the_command_line_wins_over_a_files_bounds_which_win_over_the_defaults() -> None:
    own = Bounds(delivery=5.0, recovery=40.0)
    assert run_bounds(None, None, False, None) == Bounds()
    assert run_bounds(None, None, False, own) == own
    assert run_bounds(2.0, None, True, own) == Bounds(2.0, 40.0, own.retry, True)


def test_the_replay_command_takes_the_files_mta_unless_told() -> None:
    args = build_parser().parse_args(["replay", "x.toml"])
    assert isinstance(args, argparse.Namespace)
    assert args.mta is None and args.backend is None
