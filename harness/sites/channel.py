"""Commands to a program that speaks the sites' line protocol (a mock site, the run's DNS
server), each acknowledged before the caller goes on; its other events go to a sink."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from harness.backends.base import Service
from harness.clock import Deadline
from harness.errors import DeadlineExceeded
from harness.sites.protocol import decode_event, encode

EventSink = Callable[[dict[str, Any]], None]


class CommandChannel:
    """Sends JSON commands on a service's input; reads events from its output."""

    def __init__(self, name: str, service: Service, sink: EventSink) -> None:
        self.name = name
        self.service = service
        self._sink = sink
        self._acks: set[int] = set()
        self._acked = threading.Condition()
        self._seq = itertools.count(1)
        service.add_listener(self._on_line)

    def wait_ready(self, timeout: float) -> None:
        self.service.wait_for_line(
            lambda line: '"event":"ready"' in line, timeout, f"{self.name} ready"
        )

    def _on_line(self, line: str) -> None:
        event = decode_event(line)
        if event is None:
            return
        if event["event"] == "ack":
            with self._acked:
                self._acks.add(int(event["seq"]))
                self._acked.notify_all()
        else:
            self._sink(event)

    def command(self, command: dict[str, Any], timeout: float = 5.0) -> None:
        """Send ``command``; return once the program says it applies to what comes next."""
        seq = next(self._seq)
        self.service.send(encode({**command, "seq": seq}))
        deadline = Deadline.after(timeout)
        with self._acked:
            while seq not in self._acks:
                if deadline.passed():
                    raise DeadlineExceeded(f"{self.name} did not acknowledge {command}")
                self._acked.wait(deadline.remaining())
