"""Faults made with Toxiproxy: toxics on the proxy, or the proxy switched off.

Toxiproxy cannot make connect() itself hang (the kernel finishes the handshake first); the
closest it gets to a dead link is ``blackhole``: the connect succeeds, no greeting ever comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.faults.base import register_fault
from harness.links.link import Link


@dataclass(frozen=True)
class ToxicFault:
    """A fault that is one named toxic on the link's proxy."""

    kind: str
    toxic: str
    attributes: dict[str, Any] = field(default_factory=dict)
    stream: str = "downstream"
    what: str = ""

    @property
    def toxic_name(self) -> str:
        return f"harness-{self.kind}"

    def apply(self, link: Link) -> None:
        link.toxiproxy.add_toxic(
            link.name, self.toxic_name, self.toxic, self.attributes, stream=self.stream
        )

    def heal(self, link: Link) -> None:
        link.toxiproxy.remove_toxic(link.name, self.toxic_name)

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class Refuse:
    """The proxy is disabled: connects are refused and open connections are dropped."""

    kind: str = "refuse"

    def apply(self, link: Link) -> None:
        link.toxiproxy.set_enabled(link.name, False)

    def heal(self, link: Link) -> None:
        link.toxiproxy.set_enabled(link.name, True)

    def describe(self) -> str:
        return "connection refused"


@register_fault("blackhole")
def blackhole(bound: float) -> ToxicFault:
    # timeout=0: the toxic never closes the connection and drops all data.
    return ToxicFault(
        "blackhole", "timeout", {"timeout": 0}, what="connect succeeds, no greeting ever"
    )


@register_fault("refuse")
def refuse(bound: float) -> Refuse:
    return Refuse()


@register_fault("reset")
def reset(bound: float) -> ToxicFault:
    return ToxicFault(
        "reset", "reset_peer", {"timeout": 0}, what="connection reset by peer at once"
    )


@register_fault("latency")
def latency(bound: float) -> ToxicFault:
    # Every reply from the site is held for the whole bound, so one SMTP transaction (several
    # round trips) on this link takes several times the bound.
    delay_ms = int(bound * 1000)
    return ToxicFault(
        "latency",
        "latency",
        {"latency": delay_ms, "jitter": 0},
        what=f"every reply delayed {delay_ms} ms",
    )


@register_fault("bandwidth")
def bandwidth(bound: float) -> ToxicFault:
    return ToxicFault(
        "bandwidth", "bandwidth", {"rate": 1}, stream="upstream", what="link limited to 1 KB/s"
    )


#: Bytes the MTA may send on one connection before ``cut-mid-data`` closes it: past the
#: envelope (EHLO, MAIL, RCPT, DATA: under 400 bytes), inside every message the workload
#: sends (each over 1 KB), so each transfer on the link dies mid-DATA.
CUT_AFTER_BYTES = 600


@register_fault("cut-mid-data")
def cut_mid_data(bound: float) -> ToxicFault:
    return ToxicFault(
        "cut-mid-data",
        "limit_data",
        {"bytes": CUT_AFTER_BYTES},
        stream="upstream",
        what=f"every connection closed after {CUT_AFTER_BYTES} bytes from the MTA (mid-DATA)",
    )
