"""Progress of a long run: examples run, faults active, messages in flight.

On a terminal, one status line redrawn in place twice a second (written to the controlling
terminal, past pytest's output capture). Anywhere else (a CI log, a pipe), one plain line per
finished example, so a log shows how far a run got.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.scenario import ExampleResult
from harness.world import World

REDRAW_SECONDS = 0.5


class Progress:
    """Tracks a run's examples; draws a status line (``tty``) or writes plain lines."""

    def __init__(self, say: Callable[[str], None], tty_fd: int | None) -> None:
        self._say = say
        self._tty = tty_fd
        self._world: World | None = None
        self.examples = 0
        self.failing = 0
        self._started = time.monotonic()
        self._stop = threading.Event()
        # Reentrant: an interrupt raised while the main thread holds it must not deadlock
        # the same thread's teardown (close -> clear).
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._paused = True
        self._drawn = False

    @classmethod
    def open(cls, say: Callable[[str], None], mode: str, has_markup: bool) -> Progress:
        """``mode``: ``tty``, ``lines``, or ``auto`` (tty when output is a terminal)."""
        fd = None
        if mode == "tty" or (mode == "auto" and has_markup):
            with contextlib.suppress(OSError):
                fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
        return cls(say, fd)

    @property
    def on_terminal(self) -> bool:
        return self._tty is not None

    def watch(self, world: World) -> None:
        """Start drawing the status line for ``world`` (terminal only)."""
        self._world = world
        if self._tty is not None and self._thread is None:
            self._thread = threading.Thread(target=self._redraw, name="progress", daemon=True)
            self._thread.start()

    def status(self) -> str:
        elapsed = time.monotonic() - self._started
        parts = [f"{self.examples} example(s) run, {self.failing} failing"]
        example = self._world.current if self._world is not None else None
        if example is not None:
            faults = example.active_faults()
            parts.append("faults: " + (", ".join(faults) if faults else "none"))
            counts = example.ledger.counts()
            parts.append(f"in flight: {counts['pending']}")
        parts.append(f"{elapsed:.0f} s")
        return "mta-harness: " + " | ".join(parts)

    def example_done(self, result: ExampleResult, seconds: float) -> None:
        """Count a finished example; ``seconds`` is how long it took (for plain lines)."""
        with self._lock:
            self.examples += 1
            self.failing += 0 if result.holds else 1
        if self._tty is None:
            verdict = (
                "holds"
                if result.holds
                else "BROKEN: " + ", ".join(p.name for p in result.failures())
            )
            faults = sorted({f"{e.site} {e.kind}" for e in result.timeline if e.action == "apply"})
            self._say(
                f"example {self.examples}: {verdict} ({result.outage.sites} sites, faults: "
                f"{', '.join(faults) or 'none'}, {len(result.messages)} messages, "
                f"{seconds:.1f} s)"
            )

    def resume(self) -> None:
        """Draw again: the cursor is at the start of an empty line that is ours."""
        self._paused = False

    def clear(self) -> None:
        """Erase the status line and stop drawing (pytest is about to write)."""
        with self._lock:
            self._paused = True
            if self._tty is not None and self._drawn:
                with contextlib.suppress(OSError):
                    os.write(self._tty, b"\r\x1b[2K")
                self._drawn = False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.clear()
        if self._tty is not None:
            with contextlib.suppress(OSError):
                os.close(self._tty)
            self._tty = None

    def _redraw(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            width = shutil.get_terminal_size((100, 20)).columns - 1
            line = self.status()[:width]
            with self._lock, contextlib.suppress(OSError):
                if self._tty is not None and not self._paused:
                    os.write(self._tty, f"\r\x1b[2K{line}".encode())
                    self._drawn = True


# -- in a pytest session -------------------------------------------------------------------

PROGRESS_KEY = pytest.StashKey[Progress]()


def progress_of(config: pytest.Config) -> Progress:
    """The run's progress display, made on first use (the terminal reporter exists by then)."""
    if PROGRESS_KEY not in config.stash:
        mode = config.getoption("--harness-progress")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        has_markup = bool(reporter is not None and reporter.hasmarkup)
        show = (lambda _text: None) if mode == "off" else (lambda text: say(config, text))
        config.stash[PROGRESS_KEY] = Progress.open(show, mode, has_markup)
    return config.stash[PROGRESS_KEY]


class ProgressEraser:
    """Keeps the progress line off pytest's own output: drawn on a line of its own while a
    test runs, erased just before pytest writes its mark for the test."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        progress = self.config.stash.get(PROGRESS_KEY, None)
        if progress is not None and progress.on_terminal:
            _terminal(self.config, lambda reporter: reporter.ensure_newline())
            progress.resume()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if PROGRESS_KEY in self.config.stash:
            self.config.stash[PROGRESS_KEY].clear()


def _terminal(config: pytest.Config, write: Callable[[Any], None]) -> None:
    """Write through pytest's terminal reporter now, past its output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        write(reporter)
    reporter.flush()  # a pipe (CI log) should see it now, not at exit


def say(config: pytest.Config, text: str) -> None:
    """One progress line on the terminal (or CI log) now, past pytest's output capture."""
    progress = config.stash.get(PROGRESS_KEY, None)
    if progress is not None:
        progress.clear()
    writer = config.get_terminal_writer()

    def write(reporter: Any) -> None:
        if writer.width_of_current_line:  # after pytest's progress dots: a line of our own
            writer.line()
        reporter.write_line(f"mta-harness: {text}")

    _terminal(config, write)
    if progress is not None and progress.on_terminal:
        progress.resume()
