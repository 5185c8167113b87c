"""Watching a program's output line by line, so callers wait on lines (events), not on time."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from pathlib import Path

from harness.clock import Deadline
from harness.errors import DeadlineExceeded, HarnessError

LineListener = Callable[[str], None]


class OutputWatch:
    """Lines fed by a reader thread: logged to a file, kept in a short tail, handed to
    listeners; :meth:`wait_for_line` blocks until a matching line, the end, or a deadline."""

    def __init__(self, name: str, log_path: Path, status: Callable[[], object]) -> None:
        self.name = name
        self._status = status  # the program's exit status, for messages
        self._listeners: list[LineListener] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=40)
        self._changed = threading.Condition()
        self._eof = False
        self._log = log_path.open("a", encoding="utf-8")

    def feed(self, line: str) -> None:
        self._log.write(line + "\n")
        self._log.flush()
        with self._changed:
            self._tail.append(line)
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            listener(line)

    def close(self) -> None:
        with self._changed:
            self._eof = True
            self._changed.notify_all()
        self._log.close()

    def add_listener(self, listener: LineListener) -> None:
        with self._changed:
            self._listeners.append(listener)

    def tail(self, lines: int = 15) -> str:
        with self._changed:
            return "\n".join(list(self._tail)[-lines:])

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """Wait until a line satisfies ``predicate``; fail fast if the output ends.

        Recent lines count too, so a line printed just before the call is not missed.
        """
        found: list[str] = []

        def listen(line: str) -> None:
            if predicate(line):
                with self._changed:
                    found.append(line)
                    self._changed.notify_all()

        with self._changed:
            for line in self._tail:
                if predicate(line):
                    return line
            self._listeners.append(listen)
        deadline = Deadline.after(timeout)
        try:
            with self._changed:
                while not found:
                    if self._eof:
                        raise HarnessError(
                            f"{self.name} closed its output (exit status {self._status()}) "
                            f"before {what}; last output:\n{self.tail()}"
                        )
                    if deadline.passed():
                        raise DeadlineExceeded(
                            f"{self.name} did not show {what} within {timeout:g} s; "
                            f"last output:\n{self.tail()}"
                        )
                    self._changed.wait(deadline.remaining())
                return found[0]
        finally:
            with self._changed:
                self._listeners.remove(listen)
