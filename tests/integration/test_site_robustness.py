"""A mock site fed malformed and oversized SMTP (raw bytes, long lines, NUL, pipelined
garbage) keeps serving, and keeps recording the real mail that follows."""

from __future__ import annotations

import smtplib
import socket
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.backends.local import LocalBackend
from harness.sites.handle import SiteHandle
from harness.topology import SENDER, Site

from ..conftest import SITE_PROGRAMS, site_program

pytestmark = pytest.mark.integration

NASTY = [
    b"\x00\x00\x00\r\n",
    b"HELO " + b"x" * 100_000 + b"\r\n",
    b"MAIL FROM:<" + b"a" * 5000 + b"@x>\r\n",
    b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nno end",
    b"\xff\xfe\xfd garbage \x80\x81\r\n" * 50,
    b"DATA\r\n.\r\nQUIT\r\nQUIT\r\n",
    b"RCPT TO:<\x00@site-a.test>\r\n",
    b"STARTTLS\r\n\x16\x03\x01\x02\x00",
]


class Site1:
    def __init__(self) -> None:
        self.backend = LocalBackend()
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.handle = SiteHandle(
            self.backend, Site("site-a", "site-a.test"), self.backend.addresses.site(0), self.on
        )
        self.handle.wait_ready(20)

    def on(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def blast(self, payload: bytes) -> None:
        at = self.handle.listen
        with socket.create_connection((at.host, at.port), timeout=5) as sock:
            assert sock.recv(1024).startswith(b"220"), "no greeting"
            sock.settimeout(0.3)  # garbage may get no answer at all
            try:
                sock.sendall(payload)
                sock.recv(65536)
            except OSError:
                pass  # the site may hang up on garbage: that is fine, dying is not

    def deliver(self, rcpt: str) -> None:
        at = self.handle.listen
        with smtplib.SMTP(at.host, at.port, timeout=10) as smtp:
            smtp.sendmail(SENDER, [rcpt], f"Subject: after\r\n\r\n{rcpt}\r\n")
        with self.changed:
            assert self.changed.wait_for(
                lambda: any(rcpt in e.get("rcpts", []) for e in self.events), 10
            ), f"{rcpt} was not recorded"


@pytest.fixture(scope="module", params=SITE_PROGRAMS)
def site(request: pytest.FixtureRequest) -> Any:
    with site_program(request.param):
        running = Site1()
    yield running
    running.backend.close()


@pytest.mark.parametrize("payload", NASTY, ids=range(len(NASTY)))
def test_the_site_survives_nasty_input_and_records_the_next_message(
    site: Site1, payload: bytes
) -> None:
    site.blast(payload)
    assert site.handle.service.returncode is None, site.handle.service.tail()
    site.deliver(f"after-{len(site.events)}@site-a.test")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=1, max_size=4000))
def test_any_bytes_leave_the_site_serving(site: Site1, payload: bytes) -> None:
    site.blast(payload)
    assert site.handle.service.returncode is None, site.handle.service.tail()
    site.deliver(f"fuzz-{len(site.events)}@site-a.test")
