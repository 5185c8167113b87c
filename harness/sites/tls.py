"""STARTTLS at the mock sites: certificates from a test CA made for the run.

The CA (trustme's) lives in the harness process only and is never written to any trust store;
each site gets, over its command channel, a certificate for its own names and a bad one
(expired, and for another name), which the ``tls-bad-cert`` fault switches it to. MTAs keep
their stock opportunistic TLS: they encrypt without verifying, so the bad certificate tests
that a sender still delivers (or falls back to plain text) rather than stalling.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import trustme

from harness.topology import Site

#: The name the bad certificate is for: no site's, and under a reserved top-level domain.
WRONG_NAME = "not-this-site.invalid"


@dataclass(frozen=True)
class SiteCertificate:
    """PEM text of one site's certificates: ``good`` for its names, ``bad`` expired and
    for :data:`WRONG_NAME`; each as (certificate chain, private key)."""

    good: tuple[str, str]
    bad: tuple[str, str]

    def to_json(self) -> dict[str, list[str]]:
        return {"good": list(self.good), "bad": list(self.bad)}


class RunCertificates:
    """The run's test CA, and the certificates it issues to sites."""

    def __init__(self) -> None:
        self._ca = trustme.CA(organization_name="mta-harness test CA")

    @property
    def ca_pem(self) -> str:
        """The CA's certificate, for an MTA configured to verify its peers."""
        return self._ca.cert_pem.bytes().decode()

    def for_site(self, site: Site) -> SiteCertificate:
        good = self._ca.issue_cert(site.domain, site.name)
        expired = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        bad = self._ca.issue_cert(
            WRONG_NAME, not_before=expired - datetime.timedelta(days=30), not_after=expired
        )
        return SiteCertificate(_pem(good), _pem(bad))


def _pem(leaf: trustme.LeafCert) -> tuple[str, str]:
    chain = "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems)
    return chain, leaf.private_key_pem.bytes().decode()
