"""What the run's DNS server answers, per domain and per fault (pure: no server)."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from harness.dns.zone import DnsFault, Zone

ZONE = Zone({"site-a.test": "127.0.9.111", "site-b.test": "127.0.9.112"})


def ask(
    name: str, rdtype: str, faults: dict[str, DnsFault] | None = None
) -> dns.message.Message | None:
    return ZONE.answer(dns.message.make_query(name, rdtype), faults or {})


def test_each_domain_has_an_mx_whose_address_is_its_link() -> None:
    mx = ask("site-a.test.", "MX")
    assert mx is not None and mx.rcode() == dns.rcode.NOERROR
    assert [r.to_text() for r in mx.answer[0]] == ["10 mx.site-a.test."]
    a = ask("mx.site-a.test.", "A")
    assert a is not None and [r.to_text() for r in a.answer[0]] == ["127.0.9.111"]


def test_other_types_are_empty_and_other_names_do_not_exist() -> None:
    aaaa = ask("mx.site-b.test.", "AAAA")
    assert aaaa is not None and aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer
    for name in ("nowhere.test.", "www.site-a.test.", "1.0.0.127.in-addr.arpa."):
        missing = ask(name, "A" if "arpa" not in name else "PTR")
        assert missing is not None and missing.rcode() == dns.rcode.NXDOMAIN, name


def test_a_fault_changes_its_own_domain_only() -> None:
    faults = {"site-a.test": DnsFault("timeout")}
    assert ask("site-a.test.", "MX", faults) is None
    assert ask("mx.site-a.test.", "A", faults) is None
    healthy = ask("site-b.test.", "MX", faults)
    assert healthy is not None and healthy.answer
    servfail = ask("site-a.test.", "MX", {"site-a.test": DnsFault("servfail")})
    assert servfail is not None and servfail.rcode() == dns.rcode.SERVFAIL
    nx = ask("mx.site-a.test.", "A", {"site-a.test": DnsFault("nxdomain")})
    assert nx is not None and nx.rcode() == dns.rcode.NXDOMAIN
    slow = ask("site-a.test.", "MX", {"site-a.test": DnsFault("slow", 5.0)})
    assert slow is not None and slow.answer  # answered; the server holds the reply


@pytest.mark.parametrize(("kind", "delay"), [("sulk", 0.0), ("slow", 0.0), ("timeout", 1.0)])
def test_a_fault_is_one_of_the_known_kinds_with_a_delay_only_when_slow(
    kind: str, delay: float
) -> None:
    with pytest.raises(ValueError):
        DnsFault(kind, delay)
