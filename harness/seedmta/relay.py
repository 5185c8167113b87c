"""Intake (SMTP server) and delivery (sync or async) for the seed model."""

from __future__ import annotations

import smtplib
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

import dns.resolver
from dns.exception import DNSException

from harness.seedmta.queue import DiskQueue, Entry

Route = tuple[str, int]


class NoSuchDomain(Exception):
    """The next hop's domain does not exist: a permanent failure, the message bounces."""


#: Opportunistic TLS: encrypt where offered, check no certificate.
UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE


def log(message: str) -> None:
    sys.stdout.write(f"seedmta: {message}\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Policy:
    """Timers of the model. ``timeout`` covers connect and every reply, greeting included."""

    timeout: float = 10.0
    min_backoff: float = 0.5
    max_backoff: float = 2.0
    hostname: str = "seedmta.test"
    #: A second bug, for a build that breaks two claims: a message whose delivery failed
    #: for a transient reason is dropped (no retry, no bounce): lost.
    drop_deferred: bool = False
    #: Deliver by MX lookup against this DNS server (``--routing dns``) instead of by route.
    resolver: Route | None = None
    #: Pacing of its own, dead link or not: after every ``pace_every`` deliveries to a next
    #: hop, wait ``pace_pause`` seconds before the next one to that hop (OpenSMTPD's 100
    #: messages per session, then 3 to 5 s before it connects to that route again).
    pace_every: int = 0
    pace_pause: float = 0.0


class Deliverer:
    """Makes one delivery attempt and books its outcome in the queue."""

    def __init__(
        self, queue: DiskQueue, routes: dict[str, Route], policy: Policy, wake: Callable[[], None]
    ) -> None:
        self.queue = queue
        self.routes = routes
        self.policy = policy
        self.wake = wake
        #: Per next hop: deliveries so far, and when its pacing pause (if any) ends.
        self._delivered: dict[str, int] = {}
        self._paused_until: dict[str, float] = {}

    def attempt(self, entry: Entry) -> None:
        pause = self._paused_until.pop(entry.domain, 0.0) - time.time()
        if pause > 0:
            time.sleep(pause)  # the modelled pacing: this loop holds, as OpenSMTPD's route does
        try:
            host, port = self._next_hop(entry.domain)
        except NoSuchDomain as exc:
            self._bounce(entry, entry.rcpts, str(exc))
            return
        except DNSException as exc:
            self._defer(entry, f"lookup of {entry.domain} failed: {type(exc).__name__}: {exc}")
            return
        try:
            with smtplib.SMTP(
                host, port, timeout=self.policy.timeout, local_hostname=self.policy.hostname
            ) as smtp:
                self._opportunistic_tls(smtp, entry)
                refused = smtp.sendmail(entry.mail_from, entry.rcpts, entry.data)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                self._bounce(entry, entry.rcpts, f"{exc.smtp_code} {exc.smtp_error!r}")
            else:
                self._defer(entry, f"{exc.smtp_code} {exc.smtp_error!r}")
            return
        except (OSError, smtplib.SMTPException) as exc:
            self._defer(entry, f"{type(exc).__name__}: {exc}")
            return
        permanent = [r for r, (code, _) in refused.items() if code >= 500]
        temporary = [r for r in refused if r not in permanent]
        if permanent:
            self._bounce(entry, permanent, "recipient refused permanently")
        if temporary:
            entry.rcpts = temporary
            self._defer(entry, "recipient refused temporarily")
        elif not permanent:
            self.queue.remove(entry)
            log(f"delivered {entry.qid} to {entry.domain} via {host}:{port}")
            self._paced(entry.domain)

    def _paced(self, domain: str) -> None:
        count = self._delivered.get(domain, 0) + 1
        self._delivered[domain] = count
        if self.policy.pace_every and count % self.policy.pace_every == 0:
            self._paused_until[domain] = time.time() + self.policy.pace_pause
            log(f"pacing: {count} delivered to {domain}, next in {self.policy.pace_pause:g} s")

    def _next_hop(self, domain: str) -> Route:
        """Where to deliver ``domain``: its route, or (with a resolver) its best MX on port
        25, looked up here, in the delivering thread, within the policy's timeout."""
        if self.policy.resolver is None:
            return self.routes[domain]
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.policy.resolver[0]]
        resolver.port = self.policy.resolver[1]
        resolver.lifetime = self.policy.timeout
        try:
            answer = resolver.resolve(domain, "MX")
            best = min(answer, key=lambda mx: mx.preference)
            address = resolver.resolve(best.exchange, "A")[0].to_text()
        except dns.resolver.NXDOMAIN as exc:
            raise NoSuchDomain(f"5.1.2 {domain}: no such domain ({exc})") from exc
        return address, 25

    def _opportunistic_tls(self, smtp: smtplib.SMTP, entry: Entry) -> None:
        """STARTTLS where the peer offers it, verifying nothing (as Postfix's ``may``); a
        refusal leaves the session in plain text. A handshake that fails or times out
        raises, and the attempt is deferred like any other that failed."""
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            return
        try:
            smtp.starttls(context=UNVERIFIED)
        except smtplib.SMTPResponseException as exc:
            log(f"{entry.qid}: STARTTLS refused ({exc.smtp_code}), going on in plain text")
            return
        smtp.ehlo()

    def _defer(self, entry: Entry, reason: str) -> None:
        if self.policy.drop_deferred:
            self.queue.remove(entry)
            log(f"dropped {entry.qid} to {entry.domain} (the lossy build's bug): {reason}")
            return
        entry.attempts += 1
        backoff = min(self.policy.min_backoff * 2 ** (entry.attempts - 1), self.policy.max_backoff)
        entry.next_attempt = time.time() + backoff
        entry.last_error = reason
        self.queue.update(entry)
        log(f"deferred {entry.qid} to {entry.domain} (attempt {entry.attempts}): {reason}")

    def _bounce(self, entry: Entry, rcpts: list[str], reason: str) -> None:
        remaining = [r for r in entry.rcpts if r not in rcpts]
        sender_domain = entry.mail_from.rpartition("@")[2].lower()
        if entry.mail_from and sender_domain in self.routes:
            original = entry.data.split(b"\r\n\r\n", 1)[0]
            dsn = (
                (
                    f"From: MAILER-DAEMON@{self.policy.hostname}\r\n"
                    f"To: {entry.mail_from}\r\n"
                    f"Date: {formatdate()}\r\n"
                    "Subject: Undelivered Mail Returned to Sender\r\n\r\n"
                    f"Delivery to {', '.join(rcpts)} failed: {reason}\r\n\r\n"
                    "Action: failed\r\n\r\n"
                    "--- original message headers ---\r\n"
                ).encode()
                + original
                + b"\r\n"
            )
            self.queue.add(sender_domain, "", [entry.mail_from], dsn)
            self.wake()
            log(f"bounced {entry.qid} for {', '.join(rcpts)}: {reason}")
        else:
            log(f"dropped bounce of {entry.qid} (no route to {entry.mail_from!r}): {reason}")
        if remaining:
            entry.rcpts = remaining
            self.queue.update(entry)
        else:
            self.queue.remove(entry)


class Scheduler:
    """Runs delivery loops until stopped. Subclasses decide how many and for which hops."""

    def __init__(self, queue: DiskQueue, routes: dict[str, Route], policy: Policy) -> None:
        self.queue = queue
        self.routes = routes
        self._changed = threading.Condition()
        self._stopped = False
        self.deliverer = Deliverer(queue, routes, policy, self.wake)

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def _loop(self, domain: str | None) -> None:
        """Deliver what is due for ``domain`` (None: every domain), oldest first, forever."""
        while True:
            with self._changed:
                if self._stopped:
                    return
            for entry in self.queue.due(time.time(), domain):
                self.deliverer.attempt(entry)  # blocks for as long as the next hop makes it
            with self._changed:
                if self._stopped:
                    return
                if self.queue.due(time.time(), domain):
                    continue
                next_due = self.queue.next_due(domain)
                wait = None if next_due is None else max(0.0, next_due - time.time())
                self._changed.wait(wait)

    def retry_now(self) -> int:
        """Make everything queued due now (the harness's retry-now); how many entries."""
        count = self.queue.make_all_due()
        self.wake()
        log(f"retry now: {count} entries scheduled")
        return count

    def start(self) -> None:
        raise NotImplementedError


class SyncScheduler(Scheduler):
    """The bug: ONE loop for all sites; a hop that hangs holds up every other hop."""

    def start(self) -> None:
        threading.Thread(target=self._loop, args=(None,), name="delivery", daemon=True).start()


class AsyncScheduler(Scheduler):
    """The fix: one loop per next hop; a hop that hangs holds up only itself."""

    def start(self) -> None:
        for domain in self.routes:
            threading.Thread(
                target=self._loop, args=(domain,), name=f"delivery-{domain}", daemon=True
            ).start()


class PoolScheduler(Scheduler):
    """Exhaustible: a fixed pool of delivery workers shared by every next hop. Each worker
    takes the oldest due message not already being delivered, whatever its hop, so enough
    mail for dead hops occupies every worker and healthy hops wait (Postfix with a small
    process limit, a delivery pool of N threads)."""

    def __init__(
        self, queue: DiskQueue, routes: dict[str, Route], policy: Policy, workers: int = 2
    ) -> None:
        super().__init__(queue, routes, policy)
        self.workers = workers
        self._in_flight: set[str] = set()

    def _take(self) -> Entry | None:
        """The oldest due entry no worker has; None to wait (with the lock held)."""
        for entry in self.queue.due(time.time()):
            if entry.qid not in self._in_flight:
                self._in_flight.add(entry.qid)
                return entry
        return None

    def _worker(self) -> None:
        while True:
            with self._changed:
                entry = self._take()
                while entry is None:
                    if self._stopped:
                        return
                    # Woken by new mail, a retry-now, or a worker finishing an attempt.
                    next_due = self.queue.next_due(skip=frozenset(self._in_flight))
                    wait = None if next_due is None else max(0.0, next_due - time.time())
                    self._changed.wait(wait)
                    entry = self._take()
                if self._stopped:
                    return
            try:
                self.deliverer.attempt(entry)
            finally:
                with self._changed:
                    self._in_flight.discard(entry.qid)
                    self._changed.notify_all()

    def start(self) -> None:
        for number in range(self.workers):
            threading.Thread(target=self._worker, name=f"worker-{number}", daemon=True).start()


class IntakeHandler:
    """aiosmtpd hooks: relay for routed domains only; queue on disk before saying 250."""

    def __init__(self, queue: DiskQueue, routes: dict[str, Route], wake: Callable[[], None]):
        self.queue = queue
        self.routes = routes
        self.wake = wake

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain not in self.routes:
            return "550 5.7.1 relay access denied"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        data: bytes = envelope.original_content  # type: ignore[attr-defined]
        by_domain: dict[str, list[str]] = {}
        for rcpt in envelope.rcpt_tos:  # type: ignore[attr-defined]
            by_domain.setdefault(rcpt.rpartition("@")[2].lower(), []).append(rcpt)
        qids = [
            self.queue.add(domain, envelope.mail_from or "", rcpts, data).qid  # type: ignore[attr-defined]
            for domain, rcpts in by_domain.items()
        ]
        self.wake()
        return f"250 2.0.0 queued as {','.join(qids)}"
