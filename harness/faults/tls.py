"""Faults in the STARTTLS handshake, made by the site at the link's far end.

Field outages of the seed's shape happen here too: a peer that answers 220 to STARTTLS and then
never completes the handshake wedged a sender's ready queue (KumoMTA #539); a stalled MX
during STARTTLS pinned worker threads (Postal #3569). An MTA must hold such a destination
alone, as it holds a dead link.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.faults.base import register_fault
from harness.links.link import Link
from harness.sites.protocol import Behaviour


@dataclass(frozen=True)
class TlsFault:
    """The site answers STARTTLS as ``behaviour`` says, until healed."""

    kind: str
    behaviour: Behaviour

    def apply(self, link: Link) -> None:
        link.site_control().behave(self.behaviour)

    def heal(self, link: Link) -> None:
        link.site_control().forget("STARTTLS")

    def describe(self) -> str:
        return self.behaviour.describe()


@register_fault("tls-stall", layer="tls")
def tls_stall(bound: float) -> TlsFault:
    return TlsFault("tls-stall", Behaviour("STARTTLS", tls="stall"))


@register_fault("tls-slow", layer="tls")
def tls_slow(bound: float) -> TlsFault:
    # Held for twice the bound: past it even for a sender that waits the bound and no more.
    return TlsFault("tls-slow", Behaviour("STARTTLS", delay=2 * bound))


@register_fault("tls-abort", layer="tls")
def tls_abort(bound: float) -> TlsFault:
    return TlsFault("tls-abort", Behaviour("STARTTLS", tls="abort"))


@register_fault("tls-bad-cert", layer="tls")
def tls_bad_cert(bound: float) -> TlsFault:
    return TlsFault("tls-bad-cert", Behaviour("STARTTLS", tls="bad-cert"))
