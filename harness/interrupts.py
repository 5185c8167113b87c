"""A stop request (Ctrl-C, SIGTERM) that cannot be lost.

A signal handler raises KeyboardInterrupt wherever the main thread happens to be, and there
it can be swallowed (Python discards exceptions raised inside finalizers, ``__del__`` and
weakref callbacks): seen here as a SIGTERM after which a run went on to play its examples.
So the request is also remembered, and :func:`check` raises it again at the next safe point
(the start of an example, a wait between timeline steps).
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


def request_stop() -> None:
    """Remember that the run must stop."""
    _STOP.set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested."""
    if _STOP.is_set():
        raise KeyboardInterrupt("stop requested")


def sleep_until_stopped(seconds: float) -> None:
    """Wait ``seconds`` (a scheduled step's time), waking at once on a stop request."""
    if _STOP.wait(seconds):
        raise KeyboardInterrupt("stop requested")
