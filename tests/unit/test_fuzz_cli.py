"""Fuzzing the command line: any flags end in exit 2 with one message (or 0 for --help and
--version), never a traceback, and nothing starts (``--suites`` points nowhere, so a valid
combination stops at the last check before starting)."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main

FLAGS = [
    "--mta",
    "--mta-config",
    "--backend",
    "--profile",
    "--bound",
    "--recovery-bound",
    "--strict-duplicates",
    "--seed",
    "--faults",
    "--reports",
    "--help",
    "--version",
    "-x",
]
VALUES = [
    "postfix",
    "seedmta-sync",
    "sendmail",
    "local",
    "docker",
    "kubernetes",
    "ci",
    "thorough",
    "0",
    "-1",
    "3",
    "1e9",
    "nan",
    "soon",
    "strict",
    "/nonexistent",
    "",
    "\x7f",
]
ARGS = st.lists(st.sampled_from(FLAGS) | st.sampled_from(VALUES) | st.text(max_size=8), max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["certify", "replay", "report", "routes", "bogus"]), args=ARGS)
def test_any_flags_end_in_one_clear_message(command: str, args: list[str]) -> None:
    argv = [command, *args]
    if command == "certify":
        argv += ["--suites", "/nonexistent/suites"]
    if command == "replay":
        argv += ["/nonexistent/scenario.toml"]
    if command == "report":
        argv += ["--reports", "/nonexistent/reports"]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = int(exc.code or 0)
    assert "Traceback" not in err.getvalue() + out.getvalue()
    if code == 0:
        assert command == "routes" or {"--help", "--version"} & set(args), argv
    else:
        assert code == 2, (argv, code, err.getvalue())
        assert err.getvalue().strip(), "a non-zero exit says why"
