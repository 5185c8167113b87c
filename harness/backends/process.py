"""A child process the harness owns: labelled, in its own process group, its output watched.

Output is read by a thread as it comes, written to a log file, kept in a short tail for
error messages, and handed to listeners, so callers wait on *lines* (events) rather than
sleeping and polling.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.backends.lines import LineListener, OutputWatch
from harness.errors import HarnessError


class ManagedProcess:
    """One child process: started in a new session, stopped with its whole group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                text=True,
                bufsize=1,
                start_new_session=True,  # its own group: stop() takes its children too
            )
        except OSError as exc:
            raise HarnessError(f"cannot start {name} ({self.argv[0]}): {exc.strerror}") from exc
        self._output = OutputWatch(name, log_path, self._popen.poll)
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    def _read(self) -> None:
        assert self._popen.stdout is not None
        for raw in self._popen.stdout:
            self._output.feed(raw.rstrip("\n"))
        self._output.close()

    def add_listener(self, listener: LineListener) -> None:
        """Call ``listener`` with every later line of output (from the reader thread)."""
        self._output.add_listener(listener)

    def tail(self, lines: int = 15) -> str:
        """The last lines of output, for error messages."""
        return self._output.tail(lines)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """Wait for a line of output; raise if the process ends or the time runs out."""
        return self._output.wait_for_line(predicate, timeout, what)

    def send(self, line: str) -> None:
        """Write one line to the process's standard input."""
        stdin = self._popen.stdin
        if stdin is None or self.returncode is not None:
            raise HarnessError(f"{self.name} is not running; last output:\n{self.tail()}")
        try:
            stdin.write(line + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise HarnessError(f"{self.name} stopped reading its input: {exc}") from exc

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds. Idempotent."""
        if self._popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._popen.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._popen.wait()
        # The leader may be gone while members of its group live on: sweep them too.
        self._signal_group(signal.SIGKILL)
        self._reader.join(timeout=grace)
        if self._popen.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._popen.stdin.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)
