"""``--routing dns``: the MTA finds each site by MX lookup against the run's DNS server, and
faults in those lookups (per domain) are faults of that site alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.scenario_file import SCENARIOS

from ..conftest import HOST_DNS, STATIC_ONLY_MTA, PacketCounter, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="DNS routing listens on ports 53 and 25"),
]

DNS_TIMEOUT = str(SCENARIOS / "dns-timeout.toml")


def replayed(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    done = run_cli("replay", *args, "--reports", str(tmp_path), timeout=600)
    runs = list(tmp_path.iterdir())
    return done.returncode, done.stdout + done.stderr, runs[0] if runs else tmp_path


#: Each MTA's own words for a delivery to site-b by its MX host: the log file, and the line.
BY_MX = {
    "postfix": ("postfix.log", "relay=mx.site-b.test["),
    "exim": ("exim-mainlog.log", "R=harness_mx T=remote_smtp H=mx.site-b.test ["),
    # OpenSMTPD names the MX host's address only; its lookup is in the DNS server's log.
    "opensmtpd": ("opensmtpd.log", 'to=<e1m2@site-b.test> rcpt=<-> source="127.0.0.1" relay="'),
}


@pytest.mark.xdist_group(HOST_DNS)
@pytest.mark.parametrize("mta", sorted(BY_MX))
def test_an_mta_delivers_by_mx_lookup_through_the_links_and_no_lookup_leaves(
    tmp_path: Path, dns_packets_leaving: PacketCounter, mta: str
) -> None:
    code, out, run = replayed(
        tmp_path, str(SCENARIOS / "q193760.toml"), "--mta", mta, "--routing", "dns"
    )
    assert code == 0, out[-3000:]
    # Every lookup of the run (the MTA's, and any other name it looked up) stayed here.
    assert dns_packets_leaving.packets() == 0
    log_name, delivered = BY_MX[mta]
    (mta_log,) = run.glob(f"logs-*/{log_name}")
    assert delivered in mta_log.read_text(), f"{mta} did not log a delivery by MX"
    (dns_log,) = run.glob("logs-*/dns.log")
    assert '"name":"site-b.test.","outcome":"NOERROR"' in dns_log.read_text()
    assert '"type":"MX"' in dns_log.read_text()


def test_a_lookup_that_hangs_in_the_one_delivery_loop_stalls_every_site(tmp_path: Path) -> None:
    code, out, run = replayed(tmp_path / "sync", DNS_TIMEOUT, "--mta", "seedmta-sync")
    assert code == 1, out[-3000:]
    assert "BROKEN: healthy_sites_keep_flowing" in out
    # The fault reached the MTA's lookups (the server's own log), and the model's own log
    # shows every site's mail waiting for site-a's lookup to end.
    (dns_log,) = run.glob("logs-*/dns.log")
    assert '"fault":"timeout","name":"site-a.test.","outcome":"no answer"' in dns_log.read_text()
    (mta_log,) = run.glob("logs-*/seedmta-sync.log")
    delivered = [
        line.split(" to ")[1].split()[0]
        for line in mta_log.read_text().splitlines()
        if " delivered " in line
    ]
    assert delivered[0] == "site-a.test", delivered
    code, out, _run = replayed(tmp_path / "async", DNS_TIMEOUT, "--mta", "seedmta-async")
    assert code == 0, out[-3000:]


def test_an_mta_routed_statically_only_is_told_so(tmp_path: Path) -> None:
    code, out, _run = replayed(tmp_path, DNS_TIMEOUT, "--mta", STATIC_ONLY_MTA)
    assert code == 2, out[-3000:]
    assert "--routing dns: postfix-from-template is routed static only" in out
    assert not any(tmp_path.iterdir())
