"""The workload books only the MTA's doing against the MTA: its replies and the connections it
refused or dropped. The harness's own trouble is a HarnessError, and the harness never sends
a message twice itself."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from harness.errors import HarnessError
from harness.ledger import Ledger, Status
from harness.mta.base import Login
from harness.topology import Endpoint, remote_sites
from harness.workload import Submitter

SITE = remote_sites(1)[0]


class TakesThenHangsUp:
    """Takes the message, then cuts the connection instead of answering the final dot."""

    def __init__(self) -> None:
        self.copies = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.copies += 1
        transport = server.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        return "250 never read"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def hangs_up() -> Iterator[tuple[TakesThenHangsUp, Endpoint]]:
    handler = TakesThenHangsUp()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, Endpoint("127.0.0.1", port)
    finally:
        controller.stop()


def test_a_message_whose_final_dot_went_out_is_never_sent_again(
    hangs_up: tuple[TakesThenHangsUp, Endpoint],
) -> None:
    handler, endpoint = hangs_up
    ledger = Ledger("e1")
    submitter = Submitter(endpoint, ledger, timeout=10)
    record = submitter.submit(SITE)
    submitter.close()
    assert handler.copies == 1, "the harness itself sent the message twice"
    assert record.status is Status.REFUSED
    assert record.refusal is not None and "after the final dot" in record.refusal


def test_the_harness_running_out_of_descriptors_is_not_the_mta_refusing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_descriptors(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(socket, "create_connection", no_descriptors)
    ledger = Ledger("e1")
    with pytest.raises(HarnessError, match="could not submit e1m1: OSError"):
        Submitter(Endpoint("127.0.0.1", free_port()), ledger).submit(SITE)
    assert ledger.records()[0].refusal is None, "booked against the MTA"


def test_a_connection_the_mta_refuses_is_booked_as_its_refusal() -> None:
    ledger = Ledger("e1")
    record = Submitter(Endpoint("127.0.0.1", free_port()), ledger).submit(SITE)
    assert record.status is Status.REFUSED
    assert record.refusal is not None and "ConnectionRefusedError" in record.refusal


class TakesMailFromItsUserOnly:
    """An MTA that relays for its users only (as chasquid does): AUTH over TLS, then mail."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []
        self.tls_when_logged_in: list[bool] = []
        self.taken = 0

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        self.tls_when_logged_in.append(session.ssl is not None)
        ok = data.password == b"right"
        return AuthResult(success=ok, handled=False)  # aiosmtpd then answers 535 itself

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.taken += 1
        return "250 taken"


@pytest.fixture
def users_only(tmp_path: Path) -> Iterator[tuple[TakesMailFromItsUserOnly, Endpoint]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    handler = TakesMailFromItsUserOnly()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=handler,
    )
    controller.start()
    try:
        yield handler, Endpoint("127.0.0.1", port)
    finally:
        controller.stop()


def test_an_mta_for_its_users_only_gets_starttls_then_auth_before_the_mail(
    users_only: tuple[TakesMailFromItsUserOnly, Endpoint],
) -> None:
    handler, endpoint = users_only
    ledger = Ledger("e1")
    submitter = Submitter(endpoint, ledger, Login("harness@harness.test", "right"), timeout=10)
    first, second = submitter.submit(SITE), submitter.submit(SITE)
    submitter.close()
    assert (first.status, second.status) == (Status.PENDING, Status.PENDING)
    assert handler.taken == 2
    assert handler.logins == [("harness@harness.test", "right")], "one login per session"
    assert handler.tls_when_logged_in == [True]


def test_a_login_the_mta_refuses_is_booked_as_its_refusal(
    users_only: tuple[TakesMailFromItsUserOnly, Endpoint],
) -> None:
    handler, endpoint = users_only
    ledger = Ledger("e1")
    record = Submitter(endpoint, ledger, Login("harness@harness.test", "wrong"), 10).submit(SITE)
    assert record.status is Status.REFUSED and handler.taken == 0
    assert record.refusal is not None and record.refusal.startswith("535")
