"""A stop request survives the KeyboardInterrupt that carried it being swallowed."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from harness import interrupts


@pytest.fixture
def fresh_interrupts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The module's state as in a new process, and this process's handlers restored after."""
    monkeypatch.setattr(interrupts, "_STOP", threading.Event())
    monkeypatch.setattr(interrupts, "_SIGNALS", [])
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


class InterruptedWhileFinalised:
    """An object whose finaliser is running when a signal arrives; Python ignores whatever
    a finaliser raises, so the KeyboardInterrupt the handler raises there is lost."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # the handler runs between bytecodes of this frame
            pass


def test_a_signal_swallowed_by_a_finaliser_is_still_a_stop_request(
    fresh_interrupts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    swallowed: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", swallowed.append)
    interrupts.install()
    InterruptedWhileFinalised()  # dropped at once: its finaliser runs here
    assert [type(u.exc_value) for u in swallowed] == [KeyboardInterrupt]
    assert interrupts.requested()
    assert interrupts.signals() == (signal.SIGINT,)
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()


def test_only_the_first_signal_raises_so_a_second_cannot_cut_the_teardown(
    fresh_interrupts: None,
) -> None:
    interrupts.install()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):
            pass
    os.kill(os.getpid(), signal.SIGINT)  # during the teardown the first one started
    for _ in range(10_000):
        pass
    assert interrupts.signals() == (signal.SIGTERM, signal.SIGINT)


def test_without_a_signal_nothing_is_requested(fresh_interrupts: None) -> None:
    interrupts.install()
    assert not interrupts.requested()
    interrupts.check()  # does not raise
