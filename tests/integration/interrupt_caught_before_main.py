"""Run ``python -m harness ARGS`` after catching a KeyboardInterrupt raised inside code that
exec() ran from a string, as Hypothesis's test wrappers are, for test_cli.py."""

import contextlib
import runpy

import harness.cli  # noqa: F401  imported first: its imports exec() strings of their own

with contextlib.suppress(KeyboardInterrupt):  # caught, as pytest catches a signal's interrupt
    exec("raise KeyboardInterrupt")
runpy.run_module("harness", run_name="__main__", alter_sys=True)
