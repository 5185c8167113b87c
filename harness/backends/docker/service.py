"""A container of the test world, watched like a local process: output lines, stdin, stop."""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from harness.backends.docker.errors import ENGINE_FAILURES
from harness.backends.lines import LineListener, OutputWatch
from harness.errors import HarnessError


class ContainerService:
    """One started container; its attached stdout/stderr stream feeds an :class:`OutputWatch`."""

    def __init__(self, name: str, container: Any, socket: Any, log_path: Path) -> None:
        self.name = name
        self.container = container
        self._socket = socket
        self._raw = getattr(socket, "_sock", socket)  # the plain socket under docker's wrapper
        self._output = OutputWatch(name, log_path, lambda: self.returncode)
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Demultiplex docker's attach stream: 8-byte headers (stream, size), then payload."""
        pending = b""
        try:
            while True:
                header = self._recv_exactly(8)
                if header is None:
                    break
                _stream, size = struct.unpack(">BxxxL", header)
                payload = self._recv_exactly(size)
                if payload is None:
                    break
                pending += payload
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._output.feed(line.decode(errors="replace"))
        except OSError:
            pass
        if pending:
            self._output.feed(pending.decode(errors="replace"))
        self._output.close()

    def _recv_exactly(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self._raw.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def add_listener(self, listener: LineListener) -> None:
        self._output.add_listener(listener)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        return self._output.wait_for_line(predicate, timeout, what)

    def tail(self, lines: int = 15) -> str:
        return self._output.tail(lines)

    def send(self, line: str) -> None:
        try:
            self._raw.sendall((line + "\n").encode())
        except OSError as exc:
            raise HarnessError(f"{self.name} stopped reading its input: {exc}") from exc

    @property
    def returncode(self) -> int | None:
        try:
            self.container.reload()
        except NotFound:
            return -1
        except ENGINE_FAILURES:
            return None
        state = self.container.attrs.get("State", {})
        return None if state.get("Running") else int(state.get("ExitCode", -1))

    def stop(self, grace: float = 5.0) -> None:
        """Stop (SIGTERM, SIGKILL after ``grace`` s) and remove the container. Idempotent."""
        if grace > 0:
            with contextlib.suppress(NotFound, *ENGINE_FAILURES):
                self.container.stop(timeout=int(grace))
        with contextlib.suppress(NotFound, *ENGINE_FAILURES):
            self.container.remove(force=True)
        with contextlib.suppress(OSError):
            self._socket.close()
        self._reader.join(timeout=5.0)
