"""The workload: messages submitted to the MTA's SMTP port, each booked in the ledger first."""

from __future__ import annotations

import errno
import smtplib
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate
from typing import TYPE_CHECKING

from harness.clock import now
from harness.errors import HarnessError
from harness.ledger import Ledger, MessageRecord
from harness.mta.base import Login
from harness.sites.protocol import ID_HEADER
from harness.topology import SENDER, Endpoint, Site

if TYPE_CHECKING:
    from typing_extensions import Buffer

SUBMIT_TIMEOUT = 30.0
#: Every message carries a kilobyte of text, so a link cut after a few hundred bytes of a
#: transfer (the ``cut-mid-data`` fault) always lands inside DATA, past the envelope.
BODY_PADDING = "".join(
    f"Line {n:02d} of the padding that makes every message longer than a kilobyte.\r\n"
    for n in range(1, 17)
)


class _Smtp(smtplib.SMTP):
    """smtplib's client, noting whether the message's final dot went out: after it, the MTA
    may have taken the message even if the connection then drops, so it must never be sent
    again (the harness would make the duplicate and blame the MTA)."""

    dot_sent = False

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        data = s.encode() if isinstance(s, str) else bytes(s)
        if data.endswith(b"\r\n.\r\n"):
            self.dot_sent = True


#: Errors of the harness's own process (its descriptors, ports, memory), never the MTA's.
_HARNESS_ERRNOS = {
    errno.EMFILE,
    errno.ENFILE,
    errno.EADDRNOTAVAIL,
    errno.EADDRINUSE,
    errno.ENOBUFS,
    errno.ENOMEM,
}


def _mta_trouble(exc: OSError) -> bool:
    """Whether ``exc`` is the MTA's doing: it refused or dropped the connection, or did not
    answer within the submission timeout. Anything else is the harness's own trouble."""
    if exc.errno in _HARNESS_ERRNOS:
        return False
    return isinstance(exc, ConnectionError | TimeoutError | smtplib.SMTPException)


class Submitter:
    """Submits messages over one SMTP session, reconnecting if the MTA drops it."""

    def __init__(
        self,
        mta: Endpoint,
        ledger: Ledger,
        login: Login | None = None,
        timeout: float = SUBMIT_TIMEOUT,
    ) -> None:
        self.mta = mta
        self.ledger = ledger
        self.login = login
        self.timeout = timeout
        self._smtp: _Smtp | None = None

    def _session(self) -> _Smtp:
        if self._smtp is None:
            smtp = _Smtp(
                self.mta.host, self.mta.port, timeout=self.timeout, local_hostname="harness.test"
            )
            if self.login is not None:
                try:
                    # The MTA's certificate is its own, made for the run: not verified.
                    smtp.starttls(context=_UNVERIFIED)
                    smtp.ehlo()
                    # PLAIN alone, as chasquid offers it (smtplib's login would try others).
                    smtp.user, smtp.password = self.login.user, self.login.password
                    smtp.auth("PLAIN", smtp.auth_plain)
                except BaseException:
                    smtp.close()
                    raise
            self._smtp = smtp
        return self._smtp

    def submit(self, site: Site) -> MessageRecord:
        """Submit one message to ``site``; the ledger shows it accepted or refused, never lost.

        Its clock starts here, before connecting: an MTA that holds its greeting or its 250
        while stuck on a dead link has stalled that message, and the claims see it. The
        harness's own trouble (no descriptors left, no local port) raises HarnessError.
        """
        record = self.ledger.open(site.name, site.domain, now())
        body = (
            f"From: <{SENDER}>\r\n"
            f"To: <{record.rcpt}>\r\n"
            f"Date: {formatdate()}\r\n"
            f"Message-ID: <{record.id}@harness.test>\r\n"
            f"{ID_HEADER}: {record.id}\r\n"
            f"Subject: mta-harness message {record.id} for {site.name}\r\n"
            "\r\n"
            f"Test message {record.id} from mta-harness.\r\n" + BODY_PADDING
        )
        for attempt in (1, 2):
            try:
                smtp = self._session()
                smtp.dot_sent = False
                smtp.sendmail(SENDER, [record.rcpt], body)
            except smtplib.SMTPServerDisconnected as exc:
                after_dot = self._smtp is not None and self._smtp.dot_sent
                self.close()
                if after_dot:
                    # The MTA may have the message: sending it again would be our duplicate.
                    self.ledger.refused(
                        record.id, f"connection lost after the final dot, no reply: {exc}"
                    )
                    return record
                if attempt == 2:
                    self.ledger.refused(record.id, f"connection lost: {exc}")
                    return record
                continue  # an idle session timed out at the MTA before the message: once more
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients[record.rcpt]
                self.ledger.refused(record.id, f"{code} {_text(text)}")
            except smtplib.SMTPResponseException as exc:
                self.ledger.refused(record.id, f"{exc.smtp_code} {_text(exc.smtp_error)}")
                self.close()
            except OSError as exc:
                self.close()
                if not _mta_trouble(exc):
                    raise HarnessError(
                        f"the harness could not submit {record.id}: {type(exc).__name__}: {exc}"
                    ) from exc
                self.ledger.refused(record.id, f"{type(exc).__name__}: {exc}")
            else:
                self.ledger.accepted(record.id, now())
            return record
        return record

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


class Session:
    """One SMTP session of the workload, submitting in a thread of its own, in order.

    The connection stays open while messages are queued on it and is closed (QUIT) once the
    last one is answered, as a sender does after a batch: an idle session must not hold one
    of the MTA's intake processes while another session waits for its greeting.
    """

    def __init__(self, submitter: Submitter) -> None:
        self.submitter = submitter
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="submit")
        self._pending: list[Future[MessageRecord]] = []
        self._queued = 0
        self._lock = threading.Lock()

    def send(self, site: Site) -> Future[MessageRecord]:
        with self._lock:  # a load's pacing thread sends while the timeline waits
            self._queued += 1
            future = self._pool.submit(self._submit, site)
            self._pending.append(future)
        return future

    def _submit(self, site: Site) -> MessageRecord:
        try:
            return self.submitter.submit(site)
        finally:
            with self._lock:
                self._queued -= 1
                idle = self._queued == 0
            if idle:
                self.submitter.close()

    def wait(self) -> None:
        """Return once every message handed to this session was answered; re-raise what a
        submission raised (the harness's own trouble, never booked against the MTA)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.submitter.close()


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_UNVERIFIED = _unverified()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
