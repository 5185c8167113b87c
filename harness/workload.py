"""The workload: messages submitted to the MTA's SMTP port, each booked in the ledger first."""

from __future__ import annotations

import smtplib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate

from harness.clock import now
from harness.ledger import Ledger, MessageRecord
from harness.sites.protocol import ID_HEADER
from harness.topology import SENDER, Endpoint, Site

SUBMIT_TIMEOUT = 30.0
#: Every message carries a kilobyte of text, so a link cut after a few hundred bytes of a
#: transfer (the ``cut-mid-data`` fault) always lands inside DATA, past the envelope.
BODY_PADDING = "".join(
    f"Line {n:02d} of the padding that makes every message longer than a kilobyte.\r\n"
    for n in range(1, 17)
)


class Submitter:
    """Submits messages over one SMTP session, reconnecting if the MTA drops it."""

    def __init__(self, mta: Endpoint, ledger: Ledger, timeout: float = SUBMIT_TIMEOUT) -> None:
        self.mta = mta
        self.ledger = ledger
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(
                self.mta.host, self.mta.port, timeout=self.timeout, local_hostname="harness.test"
            )
        return self._smtp

    def submit(self, site: Site) -> MessageRecord:
        """Submit one message to ``site``; the ledger shows it accepted or refused, never lost."""
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
                self._session().sendmail(SENDER, [record.rcpt], body)
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if attempt == 2:
                    self.ledger.refused(record.id, f"connection lost: {exc}")
                    return record
                continue  # an idle session timed out at the MTA: one fresh try
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients[record.rcpt]
                self.ledger.refused(record.id, f"{code} {_text(text)}")
            except smtplib.SMTPResponseException as exc:
                self.ledger.refused(record.id, f"{exc.smtp_code} {_text(exc.smtp_error)}")
                self.close()
            except OSError as exc:
                self.ledger.refused(record.id, f"{type(exc).__name__}: {exc}")
                self.close()
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
        with self._lock:
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
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.submitter.close()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
