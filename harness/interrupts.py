"""A stop request (Ctrl-C, SIGTERM) that cannot be lost.

A signal handler raises KeyboardInterrupt wherever the main thread happens to be, and there
it can be swallowed (Python discards exceptions raised inside finalizers, ``__del__`` and
weakref callbacks): seen here as a SIGTERM after which a run went on to play its examples,
and as a SIGINT that landed before any handler of ours was installed (Python's default one
raised it, something swallowed it) after which a certification played on to its FAIL
verdict. So :func:`install` runs first thing in the CLI, every signal is remembered, and
:func:`check` raises it again at the next safe point (before the suites start, the start of
an example, a wait between timeline steps); a run that received one never ends with a verdict.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_STOP = threading.Event()
_SIGNALS: list[int] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _SIGNALS.append(signum)
    _STOP.set()
    if len(_SIGNALS) == 1:
        # Only the first: a second Ctrl-C must not cut the teardown the first one started.
        raise KeyboardInterrupt(f"signal {signum}")


def install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM by remembering a stop request and raising KeyboardInterrupt
    once. SIGTERM so tears down as Ctrl-C does (fixtures finalise, every process stops).
    Only the main thread can install handlers; elsewhere this does nothing. Returns the
    handlers it replaced, for :func:`restore`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def requested() -> bool:
    """Whether a stop was requested: a signal came since :func:`install`."""
    return _STOP.is_set()


def signals() -> tuple[int, ...]:
    """The signals received since :func:`install`, in order."""
    return tuple(_SIGNALS)


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested."""
    if _STOP.is_set():
        raise KeyboardInterrupt("stop requested")


def sleep_until_stopped(seconds: float) -> None:
    """Wait ``seconds`` (a scheduled step's time), waking at once on a stop request."""
    if _STOP.wait(seconds):
        raise KeyboardInterrupt("stop requested")
