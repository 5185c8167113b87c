"""STARTTLS at a mock site: offered with the run's test CA, recorded per delivery, and each
TLS misdeed doing to a real TLS client what its name says, while other senders carry on."""

from __future__ import annotations

import datetime
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from harness.backends.local import LocalBackend
from harness.sites.handle import SiteHandle
from harness.sites.protocol import Behaviour
from harness.sites.tls import WRONG_NAME, RunCertificates
from harness.topology import SENDER, Site

from ..conftest import SITE_PROGRAMS, site_program

pytestmark = pytest.mark.integration

SITE = Site("site-a", "site-a.test")


class TlsSite:
    def __init__(self) -> None:
        self.backend = LocalBackend()
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.handle = SiteHandle(self.backend, SITE, self.backend.addresses.site(0), self.on)
        self.handle.wait_ready(20)
        self.certificates = RunCertificates()
        self.handle.offer_tls(self.certificates.for_site(SITE))

    def on(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def smtp(self, timeout: float = 10) -> smtplib.SMTP:
        return smtplib.SMTP(self.handle.listen.host, self.handle.listen.port, timeout=timeout)

    def recorded(self, rcpt: str) -> dict[str, Any]:
        """The site's record of the message to ``rcpt``."""
        with self.changed:
            assert self.changed.wait_for(lambda: self._find(rcpt) is not None, 10), rcpt
            found = self._find(rcpt)
        assert found is not None
        return found

    def _find(self, rcpt: str) -> dict[str, Any] | None:
        return next((e for e in self.events if rcpt in e.get("rcpts", [])), None)

    def deliver_plain(self, rcpt: str) -> None:
        with self.smtp() as smtp:
            smtp.sendmail(SENDER, [rcpt], f"Subject: plain\r\n\r\n{rcpt}\r\n")


def starttls_as(smtp: smtplib.SMTP, context: ssl.SSLContext, name: str) -> None:
    """smtplib's starttls, checking the certificate against ``name``, not the address."""
    smtp.ehlo()
    code, reply = smtp.docmd("STARTTLS")
    assert code == 220, reply
    smtp.sock = context.wrap_socket(smtp.sock, server_hostname=name)
    smtp.file = None
    smtp.ehlo_resp = None
    smtp.esmtp_features = {}
    smtp.does_esmtp = False
    smtp.ehlo()


def unverified() -> ssl.SSLContext:
    """An opportunistic sender's TLS: encrypt, verify nothing (Postfix's `may`)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture(scope="module", params=SITE_PROGRAMS)
def site(request: pytest.FixtureRequest) -> Iterator[TlsSite]:
    with site_program(request.param):
        running = TlsSite()
    yield running
    running.backend.close()


@pytest.fixture(autouse=True)
def well_behaved(site: TlsSite) -> None:
    site.handle.clear()


def test_starttls_is_offered_and_each_delivery_says_whether_it_was_encrypted(
    site: TlsSite,
) -> None:
    with site.smtp() as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        verifying = ssl.create_default_context(cadata=site.certificates.ca_pem)
        starttls_as(smtp, verifying, SITE.domain)  # the run's CA signed it, for its domain
        smtp.sendmail(SENDER, ["tls@site-a.test"], "Subject: tls\r\n\r\nhi\r\n")
    assert site.recorded("tls@site-a.test")["tls"] in ("TLSv1.2", "TLSv1.3")
    site.deliver_plain("plain@site-a.test")
    assert site.recorded("plain@site-a.test")["tls"] is None


def test_a_stalled_handshake_holds_that_sender_only(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", tls="stall"))
    with site.smtp(timeout=1.5) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("STARTTLS")
        assert code == 220
        with pytest.raises(TimeoutError):
            unverified().wrap_socket(smtp.sock, server_hostname=SITE.domain)
        # Meanwhile another sender is served at once.
        site.deliver_plain("beside-stall@site-a.test")
        assert site.recorded("beside-stall@site-a.test")["site"] == "site-a"


def test_a_stalled_handshake_goes_on_when_the_site_is_healed(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", tls="stall"))
    outcome: list[BaseException | str] = []

    def stalls() -> int:
        return sum(1 for e in site.events if e.get("misdeed") == "stall")

    before = stalls()

    def send() -> None:
        try:
            with site.smtp(timeout=20) as smtp:
                smtp.starttls(context=unverified())
                smtp.sendmail(SENDER, ["healed@site-a.test"], "Subject: h\r\n\r\nh\r\n")
            outcome.append("sent")
        except BaseException as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    with site.changed:  # the site holds the handshake: seen by its own event
        assert site.changed.wait_for(lambda: stalls() > before, 10)
    site.handle.forget("STARTTLS")
    sender.join(20)
    assert outcome == ["sent"]
    assert site.recorded("healed@site-a.test")["tls"] is not None


def test_an_aborted_handshake_is_a_reset(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", tls="abort"))
    with site.smtp() as smtp, pytest.raises((ConnectionResetError, ssl.SSLError)):
        smtp.starttls(context=unverified())


def test_a_bad_certificate_is_expired_and_for_another_name(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", tls="bad-cert"))
    with site.smtp() as smtp, pytest.raises(ssl.SSLCertVerificationError):
        starttls_as(smtp, ssl.create_default_context(cadata=site.certificates.ca_pem), SITE.domain)
    with site.smtp() as smtp:
        smtp.starttls(context=unverified())  # an opportunistic sender still gets through
        der = smtp.sock.getpeercert(binary_form=True)
        smtp.sendmail(SENDER, ["bad-cert@site-a.test"], "Subject: b\r\n\r\nb\r\n")
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    assert cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [WRONG_NAME]
    assert site.recorded("bad-cert@site-a.test")["tls"] is not None


def test_a_held_handshake_completes_after_its_delay(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", delay=1.0))
    with site.smtp() as smtp:
        smtp.ehlo()
        started = time.monotonic()
        smtp.starttls(context=unverified())
        held = time.monotonic() - started
        smtp.sendmail(SENDER, ["held@site-a.test"], "Subject: h\r\n\r\nh\r\n")
    assert held >= 0.9, held  # a lower bound only: the handshake waited for the site
    assert site.recorded("held@site-a.test")["tls"] is not None


def test_refused_tls_leaves_plain_text_and_forgetting_restores_it(site: TlsSite) -> None:
    site.handle.behave(Behaviour("STARTTLS", code=454, text="TLS not available now"))
    site.handle.behave(Behaviour("RCPT", delay=0.1))
    with site.smtp() as smtp, pytest.raises(smtplib.SMTPResponseException) as refused:
        smtp.starttls(context=unverified())
    assert refused.value.smtp_code == 454
    site.handle.forget("STARTTLS")
    with site.smtp() as smtp:
        smtp.starttls(context=unverified())
        smtp.sendmail(SENDER, ["again@site-a.test"], "Subject: a\r\n\r\na\r\n")
    assert site.recorded("again@site-a.test")["tls"] is not None


def test_misdeeds_are_refused_where_they_make_no_sense() -> None:
    with pytest.raises(ValueError, match="STARTTLS only"):
        Behaviour("DATA", tls="stall")
    with pytest.raises(ValueError, match="one of"):
        Behaviour("STARTTLS", tls="sulk")
