"""Errors the harness raises, split by who is to blame.

A :class:`UsageError` is the user's input (a flag, a name, a file); the CLI prints it on one
line and exits 2. A :class:`HarnessError` means the harness could not test (a part it runs died
or never became ready); such a run is never reported as a pass.
"""

from __future__ import annotations


class HarnessError(Exception):
    """The harness could not carry out a test: the verdict is ERROR, never PASS."""


class UsageError(HarnessError):
    """Bad input from the user: a flag, a name or a file. Exit status 2."""


class DeadlineExceeded(HarnessError):
    """Something the harness waited for did not happen before its deadline."""
