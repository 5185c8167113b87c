"""Waiting for a TCP port to accept connections, with a deadline."""

from __future__ import annotations

import socket
import time

from harness.clock import Deadline
from harness.errors import DeadlineExceeded
from harness.topology import Endpoint


def wait_for_port(endpoint: Endpoint, deadline: Deadline, what: str) -> None:
    """Return once ``endpoint`` accepts a TCP connection; raise when the deadline passes.

    There is no event for "a listener opened" across processes, so this retries connect()
    with a short, growing back-off (5 ms doubling to 100 ms), always bounded by the deadline.
    """
    backoff = 0.005
    while True:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=1.0):
                return
        except OSError as exc:
            if deadline.passed():
                raise DeadlineExceeded(f"{what} at {endpoint} is not accepting: {exc}") from exc
        time.sleep(min(backoff, deadline.remaining()))
        backoff = min(backoff * 2, 0.1)
