"""Unit tests of the Sendmail adapter's rendering and queue reading: no MTA is started here.
The stock excerpts are Debian's (sendmail 8.17.1.9-2+deb12u2), cut down."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.queues import parse_queue, sendmail_bp
from harness.mta.sendmail import (
    Sendmail,
    access_prefix,
    clone_esmtp,
    render_access,
    render_mailertable,
    render_mc,
)
from harness.topology import Endpoint

STOCK_MC = """\
divert(0)dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(`debian')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl
FEATURE(`access_db', , `skip')dnl
MAILER_DEFINITIONS
MAILER(`local')dnl
MAILER(`smtp')dnl
"""
STOCK_CF = """\
Msmtp,		P=[IPC], F=mDFMuX, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		T=DNS/RFC822/SMTP,
		A=TCP $h
Mesmtp,		P=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		T=DNS/RFC822/SMTP,
		A=TCP $h
Msmtp8,		P=[IPC], F=mDFMuX8, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		T=DNS/RFC822/SMTP,
		A=TCP $h
"""
STOCK_ACCESS = """\
# comment
Connect:127				RELAY
GreetPause:127			0
Connect:IPv6:::1		RELAY
GreetPause:				5000
ClientConn:				10
Connect:192.0.2 REJECT
"""
#: What `sendmail -bp` printed with two messages held by a refused link (this harness, local).
REAL_BP = (
    "\t\t/var/spool/mqueue (2 requests)\n"
    "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
    "6B4DAPiF000043     1188 Fri Dec  4 13:10 <harness@bounces.test>\n"
    "                 (Deferred: Connection refused by [127.0.55.111])\n"
    "\t\t\t\t\t <e1m2@site-a.test>\n"
    "6B4DAPcT000040*    1188 Fri Dec  4 13:10 <harness@bounces.test>\n"
    "                 (Deferred: Connection refused by [127.0.55.111])\n"
    "\t\t\t\t\t <e1m1@site-a.test>\n"
    "\t\tTotal requests: 2\n"
)


def plan(tmp_path: Path, **changes: object) -> MtaPlan:
    base = MtaPlan(
        listen=Endpoint("127.0.7.2", 2525),
        routes={
            "site-a.test": Endpoint("127.0.7.111", 2525),
            "site-b.test": Endpoint("127.0.7.112", 2526),
        },
        workdir=tmp_path,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_mc_listens_on_the_run_address_only_and_keeps_the_stock_rest(tmp_path: Path) -> None:
    out = render_mc(plan(tmp_path), STOCK_MC, STOCK_CF, hol=False, fragment="")
    daemons = [line for line in out.splitlines() if line.startswith("DAEMON_OPTIONS(")]
    assert daemons == ["DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=2525, Addr=127.0.7.2')dnl"]
    assert "OSTYPE(`debian')dnl" in out and "FEATURE(`access_db', , `skip')dnl" in out
    lines = out.splitlines()
    # Features must come before the first mailer, or m4 refuses them.
    assert lines.index("FEATURE(`mailertable', `hash -o /etc/mail/mailertable')dnl") < (
        lines.index("MAILER(`local')dnl")
    )
    assert "confDELIVERY_MODE" not in out


def test_each_link_port_gets_a_clone_of_the_stock_esmtp_mailer(tmp_path: Path) -> None:
    out = render_mc(plan(tmp_path), STOCK_MC, STOCK_CF, hol=False, fragment="")
    assert out.index("MAILER(`smtp')") < out.index("`Mharness2525,")
    assert "F=mDFMuXa," in clone_esmtp(STOCK_CF, 2525)  # esmtp's flags, not smtp's
    assert clone_esmtp(STOCK_CF, 2526).endswith("A=TCP $h 2526")
    assert render_mailertable(plan(tmp_path)) == (
        "site-a.test\tharness2525:[127.0.7.111]\nsite-b.test\tharness2526:[127.0.7.112]\n"
    )
    with pytest.raises(UsageError, match="no esmtp mailer"):
        clone_esmtp("Msmtp, P=[IPC]\n", 25)


def test_dns_routing_uses_stock_mailers_and_resolver(tmp_path: Path) -> None:
    out = render_mc(plan(tmp_path, routing="dns"), STOCK_MC, STOCK_CF, hol=False, fragment="")
    assert "mailertable" not in out and "Mharness" not in out
    assert "service.switch-nodns" not in out and "accept_unresolvable_domains" not in out


def test_hol_queues_everything_for_one_runner_and_the_fragment_goes_last(tmp_path: Path) -> None:
    fragment = "define(`confTO_INITIAL', `30s')dnl"
    out = render_mc(plan(tmp_path), STOCK_MC, STOCK_CF, hol=True, fragment=fragment)
    for line in (
        "define(`confDELIVERY_MODE', `queue')dnl",
        "define(`confMAX_QUEUE_CHILDREN', `1')dnl",
        "define(`confMAX_RUNNERS_PER_QUEUE', `1')dnl",
    ):
        assert line in out
    lines = out.splitlines()
    assert lines.index("define(`confMAX_RUNNERS_PER_QUEUE', `1')dnl") < lines.index(fragment)
    assert lines.index(fragment) < lines.index("MAILER_DEFINITIONS")


def test_the_access_db_lets_the_harness_networks_relay_as_stock_lets_loopback(
    tmp_path: Path,
) -> None:
    out = render_access(plan(tmp_path, clients=("127.0.0.0/8", "172.31.5.0/24")), STOCK_ACCESS)
    lines = out.splitlines()
    assert "Connect:172.31.5\tRELAY" in lines and "GreetPause:172.31.5\t0" in lines
    keys = [line.split()[0] for line in lines if not line.startswith("#")]
    assert len(keys) == len(set(keys)), "makemap refuses duplicate keys"
    assert "Connect:192.0.2 REJECT" in lines and "GreetPause:\t\t\t\t5000" in lines
    assert access_prefix("10.0.0.0/16") == "10.0"
    with pytest.raises(UsageError, match="whole IPv4 octets"):
        access_prefix("172.16.0.0/12")


def test_the_queue_listing_gives_each_message_its_recipients_and_reason() -> None:
    entries = sendmail_bp(REAL_BP)
    assert [(e.queue_id, e.recipients) for e in entries] == [
        ("6B4DAPiF000043", ("e1m2@site-a.test",)),
        ("6B4DAPcT000040", ("e1m1@site-a.test",)),
    ]
    assert entries[0].reason == "Deferred: Connection refused by [127.0.55.111]"
    assert parse_queue("/var/spool/mqueue is empty\n\t\tTotal requests: 0\n", "sendmail-bp") == []


@pytest.mark.parametrize(
    ("line", "word"),
    [
        ("DAEMON_OPTIONS(`Port=25')dnl", "DAEMON_OPTIONS"),
        ("define(`SMART_HOST', `relay.example')dnl", "SMART_HOST"),
        ("FEATURE(`promiscuous_relay')dnl", "promiscuous_relay"),
    ],
)
def test_a_fragment_may_not_take_what_the_harness_sets(line: str, word: str) -> None:
    with pytest.raises(UsageError, match=rf"line 2: {word} is the harness's"):
        Sendmail().check_fragment(f"dnl a comment\n{line}\n", "f.mc")


def test_the_config_digest_is_the_same_whichever_block_the_run_got(tmp_path: Path) -> None:
    lower = tmp_path / "lower" / "etc" / "mail"
    lower.mkdir(parents=True)
    (lower / "sendmail.mc").write_text(STOCK_MC)
    (lower / "sendmail.cf").write_text(STOCK_CF)
    (lower / "access").write_text(STOCK_ACCESS)
    (tmp_path / "lower" / "var" / "lib" / "dpkg").mkdir(parents=True)
    (tmp_path / "lower" / "var" / "lib" / "dpkg" / "status").write_text("")

    def digest(block: int) -> str:
        run = plan(tmp_path, lower=tmp_path / "lower", clients=(f"172.31.{block}.0/24",))
        return Sendmail().identity(run, lambda role, argv: "").config_digest

    assert digest(5) == digest(9)
    assert Sendmail(hol=True).identity(
        plan(tmp_path, lower=tmp_path / "lower"), lambda role, argv: ""
    ).config_digest != digest(5)
