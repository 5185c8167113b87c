"""A site of several acceptors (``--acceptors N``: N servers on one address, SO_REUSEPORT)
is driven as one: every message recorded once, connections told apart per acceptor, and a
behaviour acknowledged only once every acceptor applies it."""

from __future__ import annotations

import smtplib
import threading
from typing import Any

import pytest

from harness.backends.local import LocalBackend
from harness.sites.handle import SiteHandle
from harness.sites.protocol import Behaviour
from harness.topology import SENDER, Site

from ..conftest import site_program

pytestmark = pytest.mark.integration


def test_two_acceptors_record_every_message_once_and_obey_every_command() -> None:
    backend = LocalBackend()
    events: list[dict[str, Any]] = []
    lock = threading.Lock()

    def on(event: dict[str, Any]) -> None:
        with lock:
            events.append(event)

    try:
        with site_program("python"):  # acceptors as processes behind a relay: the aiosmtpd site
            site = SiteHandle(
                backend, Site("site-a", "site-a.test"), backend.addresses.site(0), on, acceptors=2
            )
        site.wait_ready(20)
        at = site.listen

        def send(n: int) -> None:
            with smtplib.SMTP(at.host, at.port, timeout=10) as smtp:
                smtp.sendmail(SENDER, [f"m{n}@site-a.test"], f"Subject: {n}\r\n\r\nbody\r\n")

        for n in range(30):  # a connection each: the kernel deals them to both acceptors
            send(n)
        site.behave(Behaviour("RCPT", code=550))  # acknowledged once both applied it
        refused = 0
        for n in range(30, 40):
            try:
                send(n)
            except smtplib.SMTPRecipientsRefused:
                refused += 1
        assert refused == 10, "a behaviour reached only some acceptors"
    finally:
        backend.close()
    messages = [e for e in events if e["event"] == "message"]
    assert sorted(r for e in messages for r in e["rcpts"]) == sorted(
        f"m{n}@site-a.test" for n in range(30)
    )
    acceptors = {e["connection"].split(".", 1)[0] for e in messages}
    assert acceptors == {"1", "2"}, f"connections all went to one acceptor: {acceptors}"
