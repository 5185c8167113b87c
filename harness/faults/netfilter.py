"""Faults below Toxiproxy, with iptables in the network namespace holding the link's address.

Toxiproxy cannot make connect() hang (the kernel completes the handshake first); dropping SYNs
can. These faults need a namespace the run owns (the docker backend's Toxiproxy container,
which has NET_ADMIN); on a backend without one, :meth:`Link.in_netns` says so. Every rule is
tagged with a comment naming the run and the link, and dies with the container.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.faults import toxics as _seed_faults_first  # noqa: F401  (registration order)
from harness.faults.base import register_fault
from harness.links.link import Link


@dataclass(frozen=True)
class NetfilterFault:
    """One iptables rule on the link's address: added by apply, deleted by heal."""

    kind: str
    chain: str
    match: tuple[str, ...]
    what: str

    def _rule(self, link: Link) -> list[str]:
        side = "-d" if self.chain == "INPUT" else "-s"
        return [
            self.chain,
            side,
            link.listen.host,
            "-p",
            "tcp",
            *self.match,
            "-m",
            "comment",
            "--comment",
            f"mta-harness:{link.name}:{self.kind}",
            "-j",
            "DROP",
        ]

    def apply(self, link: Link) -> None:
        link.in_netns(["iptables", "-A", *self._rule(link)])

    def heal(self, link: Link) -> None:
        link.in_netns(["iptables", "-D", *self._rule(link)])

    def describe(self) -> str:
        return self.what


@register_fault("syn-drop")
def syn_drop(bound: float) -> NetfilterFault:
    return NetfilterFault(
        "syn-drop", "INPUT", ("--syn",), "SYNs dropped: connect() hangs until the MTA's own timeout"
    )


@register_fault("loss")
def loss(bound: float) -> NetfilterFault:
    return NetfilterFault(
        "loss",
        "INPUT",
        ("-m", "statistic", "--mode", "random", "--probability", "0.3"),
        "30% of packets to the link dropped",
    )


@register_fault("one-way")
def one_way(bound: float) -> NetfilterFault:
    return NetfilterFault(
        "one-way", "OUTPUT", (), "one-way partition: nothing comes back from the site"
    )
