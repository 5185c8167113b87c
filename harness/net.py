"""Waiting for a TCP port to accept connections, or an SMTP server to greet, with a deadline."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable

from harness.clock import Deadline
from harness.errors import DeadlineExceeded, HarnessError
from harness.topology import Endpoint


def wait_for_port(
    endpoint: Endpoint,
    deadline: Deadline,
    what: str,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Return once ``endpoint`` accepts a TCP connection; raise when the deadline passes,
    or at once when ``alive()`` says the program that should open it has died.

    There is no event for "a listener opened" across processes, so this retries connect()
    with a short, growing back-off (5 ms doubling to 100 ms), always bounded by the deadline.
    """
    backoff = 0.005
    while True:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=1.0):
                return
        except OSError as exc:
            if not alive():
                raise HarnessError(f"{what} died before opening {endpoint}") from exc
            if deadline.passed():
                raise DeadlineExceeded(f"{what} at {endpoint} is not accepting: {exc}") from exc
        time.sleep(min(backoff, deadline.remaining()))
        backoff = min(backoff * 2, 0.1)


def wait_for_greeting(
    endpoint: Endpoint,
    deadline: Deadline,
    what: str,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Return once an SMTP server at ``endpoint`` answers with its 220 greeting.

    An open port is not enough: behind a published container port, Docker's proxy accepts a
    connection before the server inside listens, then drops it. Only the greeting proves the
    MTA is there.
    """
    backoff = 0.005
    last: object = None
    while True:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=2.0) as sock:
                sock.settimeout(max(0.1, min(5.0, deadline.remaining())))
                banner = sock.recv(512)
                if banner.startswith(b"220"):
                    with contextlib.suppress(OSError):
                        sock.sendall(b"QUIT\r\n")
                    return
                last = banner[:80] or "connection closed without a greeting"
        except OSError as exc:
            last = exc
        if not alive():
            raise HarnessError(f"{what} died before greeting on {endpoint}")
        if deadline.passed():
            raise DeadlineExceeded(f"{what} at {endpoint} sent no SMTP greeting: {last!r}")
        time.sleep(min(backoff, deadline.remaining()))
        backoff = min(backoff * 2, 0.1)
