"""What the run's DNS server answers: pure data, apart from the server that sends it.

Each remote domain gets ``MX 10 mx.<domain>.`` and ``mx.<domain>.`` an A record for the
domain's link address, so an MTA that routes by MX lookup reaches the site through its link,
as a statically routed one does. Other names get NXDOMAIN at once (an MTA's lookups of its
own name or its clients' addresses must not wait); AAAA and other types for a known name get
an empty answer. A per-domain fault changes what that domain's names get.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

#: Faults of the DNS for one domain: never answered, SERVFAIL, NXDOMAIN, or answered late.
DNS_MISDEEDS = ("timeout", "servfail", "nxdomain", "slow")
TTL = 5


@dataclass(frozen=True)
class DnsFault:
    """What queries under one domain get while faulted; ``delay`` for ``slow``."""

    kind: str
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in DNS_MISDEEDS:
            raise ValueError(f"a DNS fault is one of {', '.join(DNS_MISDEEDS)}, not {self.kind!r}")
        if self.delay < 0 or (self.kind == "slow") != (self.delay > 0):
            raise ValueError("a delay (seconds, positive) goes with 'slow' only")


@dataclass(frozen=True)
class Zone:
    """The remote domains and the address of each one's link."""

    hosts: dict[str, str]

    def domain_of(self, name: dns.name.Name) -> str | None:
        """The remote domain ``name`` is in (the domain itself or a name under it)."""
        for domain in self.hosts:
            if name.is_subdomain(dns.name.from_text(domain)):
                return domain
        return None

    def answer(
        self, query: dns.message.Message, faults: dict[str, DnsFault]
    ) -> dns.message.Message | None:
        """The response to ``query``; None where the domain's fault is to say nothing. A
        ``slow`` domain is answered normally here: the server holds the reply."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        domain = self.domain_of(question.name)
        fault = faults.get(domain) if domain is not None else None
        if fault is not None and fault.kind == "timeout":
            return None
        if fault is not None and fault.kind == "servfail":
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if domain is None or (fault is not None and fault.kind == "nxdomain"):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        record = self._record(domain, question.name, question.rdtype)
        if record is None and question.name not in self._names(domain):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif record is not None:
            response.answer.append(record)
        return response

    def _names(self, domain: str) -> set[dns.name.Name]:
        return {dns.name.from_text(domain), dns.name.from_text(f"mx.{domain}")}

    def _record(
        self, domain: str, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.rrset.RRset | None:
        mx_host = dns.name.from_text(f"mx.{domain}")
        if name == dns.name.from_text(domain) and rdtype == dns.rdatatype.MX:
            return dns.rrset.from_text(name, TTL, "IN", "MX", f"10 {mx_host}")
        if name == mx_host and rdtype == dns.rdatatype.A:
            return dns.rrset.from_text(name, TTL, "IN", "A", self.hosts[domain])
        return None
