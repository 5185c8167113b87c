"""Unit tests of the Courier adapter's rendering and queue reading: no MTA is started here.
The stock excerpts are Debian's (courier-mta 1.0.16-3+b6), cut down."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.courier import Courier, esmtproutes, merge_keyed, parse_fragment, smtpaccess
from harness.mta.queues import courier_batch, parse_queue
from harness.topology import Endpoint

STOCK = {
    "etc/courier/esmtpd": "BOFHCHECKDNS=1\nPORT=smtp\nACCESSFILE=${sysconfdir}/smtpaccess\n",
    "etc/courier/courierd": "DEFAULTDELIVERY=./Maildir\nESMTP_USE_STARTTLS=1\n",
    "etc/courier/module.esmtp": "NAME=esmtp\nPRIORITY=50\nPROG=./courieresmtp\nMAXDELS=40\n"
    "MAXHOST=4\nMAXRCPT=100\n",
    "etc/courier/smtpaccess/default": "# comment\n127.0.0.1\tallow,RELAYCLIENT\n"
    "10\tallow,RELAYCLIENT\n192.168\tallow,RELAYCLIENT\n",
    "var/lib/dpkg/status": "Package: courier-mta\nStatus: install ok installed\n"
    "Version: 1.0.16-3+b6\n",
}
#: What `mailq -batch` printed with one message for two recipients held by a refused link.
REAL_BATCH = (
    "356             ;00000000009843BD.000000006B132B15.0000004C;Dec 04 21:05;courier;"
    "a@bounces.test;;e1@site-a.test;;x2@site-a.test;\n"
    "messages: 1\n"
)


def plan(tmp_path: Path, **changes: object) -> MtaPlan:
    lower = tmp_path / "lower"
    for path, text in STOCK.items():
        (lower / path).parent.mkdir(parents=True, exist_ok=True)
        (lower / path).write_text(text)
    base = MtaPlan(
        listen=Endpoint("127.0.7.2", 2525),
        routes={
            "site-a.test": Endpoint("127.0.7.111", 2525),
            "site-b.test": Endpoint("127.0.7.112", 2526),
        },
        workdir=tmp_path,
        lower=lower,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_esmtpd_listens_on_the_run_address_and_routes_are_fixed_per_domain(
    tmp_path: Path,
) -> None:
    files = Courier().render(plan(tmp_path))
    esmtpd = files["/etc/courier/esmtpd"]
    assert esmtpd.startswith(STOCK["etc/courier/esmtpd"])  # stock first, ours win after it
    assert esmtpd.splitlines()[-3:] == ["ADDRESS=127.0.7.2", "PORT=2525", "BOFHCHECKDNS=0"]
    assert files["/etc/courier/esmtproutes"] == (
        "site-a.test: [127.0.7.111],2525\nsite-b.test: [127.0.7.112],2526\n"
    )
    assert esmtproutes(plan(tmp_path, routes={})) == ""
    assert files["/etc/courier/me"] == "mta.harness.test\n"


def test_short_retry_timers_are_whole_seconds(tmp_path: Path) -> None:
    files = Courier().render(plan(tmp_path, timers={"min_backoff": 0.4, "max_backoff": 2.6}))
    assert files["/etc/courier/retryalpha"] == "1s\n"  # fractions are refused by Courier
    assert files["/etc/courier/retrygamma"] == "3s\n"
    assert files["/etc/courier/esmtpdelay"] == "0\n"  # off: a flush must attempt delivery


def test_module_esmtp_stays_name_value_lines_and_hol_allows_one_delivery(tmp_path: Path) -> None:
    stock = Courier().render(plan(tmp_path))["/etc/courier/module.esmtp"]
    assert stock == STOCK["etc/courier/module.esmtp"]
    hol = Courier(hol=True).render(plan(tmp_path))["/etc/courier/module.esmtp"]
    assert "MAXDELS=1\n" in hol and "MAXDELS=40" not in hol
    # A comment or blank line there kills courierd's scheduler at start.
    assert all("=" in line for line in hol.splitlines())
    assert merge_keyed("A=1\nB=2\n", ["B=3", "C=4"]) == "A=1\nB=3\nC=4\n"


def test_smtpaccess_lets_the_harness_networks_relay_before_the_stock_rules(tmp_path: Path) -> None:
    run = plan(tmp_path, clients=("127.0.0.0/8", "172.31.5.0/24"))
    lines = smtpaccess(run, STOCK["etc/courier/smtpaccess/default"]).splitlines()
    assert lines[1:3] == ["127\tallow,RELAYCLIENT", "172.31.5\tallow,RELAYCLIENT"]
    assert "192.168\tallow,RELAYCLIENT" in lines
    with pytest.raises(UsageError, match="whole IPv4 octets"):
        smtpaccess(plan(tmp_path, clients=("172.16.0.0/12",)), "")


def test_dns_routing_writes_no_routes_and_keeps_the_sender_check(tmp_path: Path) -> None:
    files = Courier().render(plan(tmp_path, routing="dns"))
    assert "/etc/courier/esmtproutes" not in files
    assert "BOFHCHECKDNS=0" not in files["/etc/courier/esmtpd"]


def test_a_fragment_names_its_files_and_may_not_take_what_the_harness_sets(
    tmp_path: Path,
) -> None:
    fragment = "[module.esmtp]\nMAXHOST=2\n[esmtptimeoutconnect]\n20\n[courierd]\nX=1\n"
    assert parse_fragment(fragment, "f") == {
        "module.esmtp": ["MAXHOST=2"],
        "esmtptimeoutconnect": ["20"],
        "courierd": ["X=1"],
    }
    files = Courier().render(plan(tmp_path, fragment=fragment))
    assert "MAXHOST=2\n" in files["/etc/courier/module.esmtp"]
    assert files["/etc/courier/esmtptimeoutconnect"] == "20\n"
    assert files["/etc/courier/courierd"].endswith("# --- your fragment ---\nX=1\n")
    for bad, said in [
        ("MAXDELS=1\n", "line 1: a Courier fragment names a file"),
        ("[esmtproutes]\nx: [1.2.3.4]\n", r"line 1: \[esmtproutes\] is the harness's"),
        ("[esmtpd]\n# ok\nPORT=25\n", r"line 3: PORT in \[esmtpd\] is the harness's"),
        ("[module.esmtp]\nMAXDELS=lots\n", "line 2: MAXDELS in .* is a number"),
        ("[module.esmtp]\n# no\nfoo\n", r"line 3: \[module.esmtp\] takes NAME=value lines"),
        ("# x\n[esmtptimeoutconect]\n20\n", "line 2: Courier has no configuration file"),
    ]:
        with pytest.raises(UsageError, match=said):
            parse_fragment(bad, "f.cfg")


def test_the_queue_listing_gives_each_message_its_held_recipients() -> None:
    entries = courier_batch(REAL_BATCH)
    assert [(e.queue_id, e.recipients) for e in entries] == [
        ("00000000009843BD.000000006B132B15.0000004C", ("e1@site-a.test", "x2@site-a.test"))
    ]
    # A recipient with a status is done (delivered or failed): no longer held.
    done = REAL_BATCH.replace(";;e1@site-a.test", ";delivered;e1@site-a.test")
    assert courier_batch(done)[0].recipients == ("x2@site-a.test",)
    assert parse_queue("messages: 0\n", "courier-batch") == []


def test_the_config_digest_is_the_same_whichever_block_the_run_got(tmp_path: Path) -> None:
    def digest(block: int, hol: bool = False) -> str:
        run = plan(tmp_path, clients=(f"172.31.{block}.0/24",))
        return Courier(hol=hol).identity(run, lambda role, argv: "").config_digest

    assert digest(5) == digest(9)
    assert digest(5, hol=True) != digest(5)
    assert Courier().identity(plan(tmp_path), lambda r, a: "").version == "1.0.16-3+b6"
