"""Unit tests of each adapter's configuration rendering: no MTA is started here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.exim import Exim, render_config
from harness.mta.opensmtpd import OpenSmtpd
from harness.mta.opensmtpd import render_config as render_smtpd_conf
from harness.mta.postfix import (
    Postfix,
    config_digest,
    merge_main_cf,
    parse_fragment,
    render_master_cf,
)
from harness.mta.queues import exim_bp as parse_bp
from harness.topology import Endpoint

STOCK_MASTER = """\
# comment
smtp      inet  n       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
"""
STOCK_MAIN = """\
smtpd_banner = $myhostname ESMTP
inet_interfaces = all
mydestination = $myhostname, localhost
relay_domains =
    example.com
myhostname = vm
"""


def plan(tmp_path: Path, slot: int = 7, fragment: str = "") -> MtaPlan:
    return MtaPlan(
        listen=Endpoint(f"127.0.{slot}.2", 2525),
        routes={
            "site-a.test": Endpoint(f"127.0.{slot}.111", 2525),
            "site-b.test": Endpoint(f"127.0.{slot}.112", 2525),
        },
        workdir=tmp_path,
        root=tmp_path / "root",
        lower=tmp_path / "lower",
        fragment=fragment,
    )


def test_master_cf_binds_the_run_address_and_drops_postfix_chroot(tmp_path: Path) -> None:
    out = render_master_cf(STOCK_MASTER, plan(tmp_path))
    assert "127.0.7.2:2525 inet n - n - - smtpd" in out
    assert "pickup unix n - n 60 1 pickup" in out
    assert "#submission inet n       -       y" in out  # comments untouched
    assert "        -o syslog_name=postfix/$service_name" in out


def test_postfix_hol_caps_each_smtp_client_service_at_one_process(tmp_path: Path) -> None:
    out = render_master_cf(STOCK_MASTER, plan(tmp_path), smtp_maxproc=1)
    assert "smtp unix - - n - 1 smtp" in out
    # Routed by MX lookup, relay_domains mail goes by relay_transport (the relay service):
    # capped too, or postfix-hol would be one process short of its bug under --routing dns.
    assert "relay unix - - n - 1 smtp" in out
    assert "smtp unix - - n - - smtp" in render_master_cf(STOCK_MASTER, plan(tmp_path))


def test_main_cf_keeps_stock_lines_and_replaces_what_the_harness_sets() -> None:
    out = merge_main_cf(
        STOCK_MAIN,
        {"mydestination": "", "relay_domains": "site-a.test", "transport_maps": "inline:{ x=y }"},
    )
    assert "smtpd_banner = $myhostname ESMTP" in out
    assert "mydestination = \n" in out
    assert "relay_domains = site-a.test\nmyhostname = vm" in out  # continuation dropped
    assert "transport_maps = inline:{ x=y }" in out.split("# --- mta-harness ---")[1]


def test_a_user_fragment_wins_over_the_harness() -> None:
    user = parse_fragment("# mine\ndefault_process_limit = 1\nmydestination = here\n")
    out = merge_main_cf(STOCK_MAIN, {"mydestination": ""}, user)
    assert "mydestination = here" in out and "default_process_limit = 1" in out


def test_a_malformed_postfix_fragment_names_its_line() -> None:
    with pytest.raises(UsageError, match=r"frag.cf: line 2: expected 'name = value'"):
        Postfix().check_fragment("a = 1\nnonsense\n", "frag.cf")


def test_the_config_digest_ignores_the_run_addresses(tmp_path: Path) -> None:
    files_7 = {"/etc/x": render_config(plan(tmp_path, 7))}
    files_9 = {"/etc/x": render_config(plan(tmp_path, 9))}
    assert files_7 != files_9
    assert config_digest(files_7, plan(tmp_path, 7)) == config_digest(files_9, plan(tmp_path, 9))


def test_exim_routes_each_domain_to_its_link(tmp_path: Path) -> None:
    out = render_config(plan(tmp_path))
    assert "local_interfaces = <; 127.0.7.2.2525" in out
    assert "route_list = site-a.test 127.0.7.111::2525 ; site-b.test 127.0.7.112::2525" in out
    assert "domainlist relay_to_domains = site-a.test : site-b.test" in out
    assert "queue_only" not in out


def test_exim_routed_by_dns_looks_up_each_domain_s_mx_and_has_no_routes(tmp_path: Path) -> None:
    out = render_config(replace(plan(tmp_path), routing="dns"))
    routers = out.split("begin routers", 1)[1].split("begin transports", 1)[0]
    assert "driver = dnslookup" in routers and "domains = +relay_to_domains" in routers
    assert "manualroute" not in routers and "route_list" not in routers


def test_exim_hol_queues_everything_for_one_in_order_runner(tmp_path: Path) -> None:
    out = render_config(plan(tmp_path), hol=True)
    for line in (
        "queue_only = true",
        "queue_run_max = 1",
        "queue_run_in_order = true",
        "remote_max_parallel = 1",
    ):
        assert line in out


def test_exim_fragment_lands_in_the_main_section_and_is_checked(tmp_path: Path) -> None:
    out = render_config(plan(tmp_path), fragment="remote_max_parallel = 1")
    assert out.index("remote_max_parallel = 1") < out.index("begin acl")
    with pytest.raises(UsageError, match="line 1"):
        Exim().check_fragment("begin routers", "f")


def test_exim_queue_listing_is_parsed() -> None:
    listing = (
        " 0m   412 1tFgbc-000001-2x <harness@bounces.test>\n"
        "          e1m1@site-a.test\n"
        "        D e1m2@site-b.test\n"
        "\n"
        " 1m   300 1tFgbd-000002-3y <>\n"
        "          harness@bounces.test\n"
    )
    entries = parse_bp(listing)
    assert [(e.queue_id, e.recipients) for e in entries] == [
        ("1tFgbc-000001-2x", ("e1m1@site-a.test",)),
        ("1tFgbd-000002-3y", ("harness@bounces.test",)),
    ]


def _postqueue(queue_name: str) -> str:
    recipient = {"address": "e1m2@site-a.test", "delay_reason": "connect to 127.0.19.111: refused"}
    return json.dumps({"queue_name": queue_name, "queue_id": "2861FAC", "recipients": [recipient]})


def test_postfix_retry_now_flushes_once_qmgr_has_put_back_what_it_was_finishing(
    tmp_path: Path,
) -> None:
    """A flush while qmgr still holds a deferred message in its active queue misses it: it
    lands in the deferred queue afterwards with its whole back-off."""
    listings = iter([_postqueue("active"), _postqueue("active"), _postqueue("deferred")])
    calls: list[tuple[str, ...]] = []

    def run(role: str, argv: Sequence[str]) -> str:
        calls.append(tuple(argv))
        return next(listings) if argv[-1] == "-j" else ""

    assert Postfix().retry_now(plan(tmp_path), run) == "postqueue -f"
    assert [argv[-1] for argv in calls] == ["-j", "-j", "-j", "-f"]


def test_postfix_retry_now_flushes_at_its_deadline_if_a_message_stays_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.mta.postfix.ACTIVE_DRAIN", 0.1)
    calls: list[str] = []

    def run(role: str, argv: Sequence[str]) -> str:
        calls.append(argv[-1])
        return _postqueue("active") if argv[-1] == "-j" else ""

    assert Postfix().retry_now(plan(tmp_path), run) == "postqueue -f"
    assert calls.count("-j") >= 2 and calls[-1] == "-f" and calls.count("-f") == 1


def test_opensmtpd_relays_each_domain_from_loopback_only(tmp_path: Path) -> None:
    out = render_smtpd_conf(plan(tmp_path))
    assert "listen on 127.0.7.2 port 2525" in out
    assert 'action "to-site-a.test" relay host smtp://127.0.7.111:2525' in out
    assert (
        'match from src <harness_clients> for domain "site-b.test" action "to-site-b.test"' in out
    )
    with pytest.raises(UsageError):
        OpenSmtpd().check_fragment("listen on 0.0.0.0", "f")


def test_opensmtpd_routed_by_dns_relays_by_mx_lookup(tmp_path: Path) -> None:
    out = render_smtpd_conf(replace(plan(tmp_path), routing="dns"))
    assert 'action "to-site-a.test" relay\n' in out
    assert "host smtp://" not in out


def test_a_rooted_mta_without_root_says_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import rootfs

    monkeypatch.setattr(rootfs.os, "geteuid", lambda: 1000)
    with pytest.raises(UsageError, match="needs root"):
        rootfs.check_can_run()


def test_an_unknown_rootfs_recipe_names_the_known_ones() -> None:
    from harness.rootfs import load_recipe

    with pytest.raises(
        UsageError,
        match="known: chasquid, courier, exim, haraka, maddy, opensmtpd, postfix, sendmail",
    ):
        load_recipe("qmail")


def test_a_recipe_s_packages_are_a_list_never_a_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.rootfs as rootfs

    monkeypatch.setattr(rootfs, "RECIPES", tmp_path)
    (tmp_path / "mine.toml").write_text('suite = "bookworm"\ninclude = "postfix"\n')
    with pytest.raises(UsageError, match=r"mine.toml: include: Input should be a valid list"):
        rootfs.load_recipe("mine")
    (tmp_path / "mine.toml").write_text(
        'suite = "bookworm"\ninclude = ["postfix"]\nvarient = "x"\n'
    )
    with pytest.raises(UsageError, match="varient: unknown field"):
        rootfs.load_recipe("mine")


def test_an_npm_recipe_is_installed_as_locked_and_its_lock_is_in_the_digest() -> None:
    from harness.rootfs import RECIPES, load_recipe, npm_hooks

    haraka = load_recipe("haraka")
    assert haraka.npm == "haraka" and haraka.suite == "trixie"  # Node 20: bookworm has 18
    hooks = npm_hooks(haraka)
    assert any("npm ci" in hook and "--omit=optional" in hook for hook in hooks)
    assert any(str(RECIPES / "haraka" / "package-lock.json") in hook for hook in hooks)
    assert haraka.npm_files["package-lock.json"] and npm_hooks(load_recipe("postfix")) == []
    bare = load_recipe("haraka").__class__(**{**haraka.__dict__, "npm": None})
    assert bare.digest != haraka.digest
