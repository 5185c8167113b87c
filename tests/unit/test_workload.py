"""The workload books only the MTA's doing against the MTA: its replies and the connections it
refused or dropped. The harness's own trouble is a HarnessError, and the harness never sends
a message twice itself."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from harness.errors import HarnessError
from harness.ledger import Ledger, Status
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
