"""Faults in the DNS lookups that lead to a link (``--routing dns``), made by the run's DNS
server for the link's domain alone.

Field outages of the seed's shape: OpenSMTPD sessions "blocked waiting for DNS" (OpenSMTPD
#811); Chaos Mesh users ask for DNS faults per domain because its DNS chaos hits every lookup
at once (chaos-mesh #770, #4140). An MTA must hold a domain whose lookups hang or fail alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.dns.zone import DnsFault
from harness.faults.base import register_fault
from harness.links.link import Link


@dataclass(frozen=True)
class DnsLookupFault:
    """Queries for the link's domain get ``fault`` until healed."""

    kind: str
    fault: DnsFault
    what: str

    def apply(self, link: Link) -> None:
        link.dns().fault(link.site.domain, self.fault)

    def heal(self, link: Link) -> None:
        link.dns().heal(link.site.domain)

    def describe(self) -> str:
        return self.what


@register_fault("dns-timeout", layer="dns")
def dns_timeout(bound: float) -> DnsLookupFault:
    return DnsLookupFault(
        "dns-timeout", DnsFault("timeout"), "lookups of its domain never answered"
    )


@register_fault("dns-servfail", layer="dns")
def dns_servfail(bound: float) -> DnsLookupFault:
    return DnsLookupFault("dns-servfail", DnsFault("servfail"), "lookups of its domain SERVFAIL")


@register_fault("dns-slow", layer="dns")
def dns_slow(bound: float) -> DnsLookupFault:
    # Answered after twice the bound: past it even for a resolver that waits the bound.
    return DnsLookupFault(
        "dns-slow",
        DnsFault("slow", 2 * bound),
        f"lookups of its domain answered after {2 * bound:g} s",
    )


@register_fault("dns-nxdomain", layer="dns")
def dns_nxdomain(bound: float) -> DnsLookupFault:
    return DnsLookupFault(
        "dns-nxdomain", DnsFault("nxdomain"), "its domain does not exist (NXDOMAIN)"
    )
