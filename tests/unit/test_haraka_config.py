"""Unit tests of the Haraka adapter's rendering and queue reading: no MTA is started here."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.haraka import Haraka, check_outbound, render_outbound
from harness.mta.queues import haraka_json, parse_queue
from harness.topology import Endpoint

#: What the harness's listing script printed with one message held by a refused link.
REAL_QLIST = (
    '{"file":"1796422756332_1796422756332_0_33_s9676g_2_vm","domain":"site-a.test",'
    '"rcpt":["e1m2@site-a.test"]}\n'
)


def plan(tmp_path: Path, **changes: object) -> MtaPlan:
    base = MtaPlan(
        listen=Endpoint("127.0.7.2", 2525),
        routes={
            "site-a.test": Endpoint("127.0.7.111", 2525),
            "site-b.test": Endpoint("127.0.7.112", 2526),
        },
        workdir=tmp_path,
        clients=("127.0.0.0/8", "172.31.5.0/24"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_one_worker_listens_on_the_run_address_and_routes_come_from_get_mx(
    tmp_path: Path,
) -> None:
    files = Haraka().render(plan(tmp_path))
    assert files["/etc/haraka/config/smtp.ini"] == "[main]\nlisten=127.0.7.2:2525\n"
    assert files["/etc/haraka/config/plugins"].split() == ["relay", "harness_routes"]
    assert files["/etc/haraka/config/relay_acl_allow"] == "127.0.0.0/8\n172.31.5.0/24\n"
    routes = json.loads(files["/etc/haraka/config/harness_routes.json"])
    assert routes["site-b.test"] == {"host": "127.0.7.112", "port": 2526}
    assert "hook_get_mx" in files["/etc/haraka/plugins/harness_routes.js"]


def test_retries_are_as_short_as_haraka_allows_and_hol_has_one_delivery(tmp_path: Path) -> None:
    stock = render_outbound(plan(tmp_path), hol=False)
    assert "local_mx_ok=true" in stock and "concurrency_max" not in stock
    assert "temp_fail_intervals=5s*3,5s*2000" in stock  # Haraka refuses under 5 s
    slow = render_outbound(plan(tmp_path, timers={"min_backoff": 60, "max_backoff": 90}), False)
    assert "temp_fail_intervals=60s*3,90s*2000" in slow
    hol = render_outbound(plan(tmp_path, fragment="connect_timeout=10"), hol=True)
    assert hol.index("concurrency_max=1") < hol.index("connect_timeout=10")  # the user's last


@pytest.mark.parametrize(
    ("fragment", "said"),
    [
        ("concurency_max=4\n", "line 1: Haraka's outbound.ini has no setting concurency_max"),
        ("; ok\nconnect_timeout=soon\n", "line 2: connect_timeout is a whole number"),
        ("banana\n", "line 1: a Haraka fragment is outbound.ini settings"),
    ],
)
def test_a_fragment_is_outbound_settings_only(fragment: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        check_outbound(fragment, "f.ini")
    check_outbound("[main]\nconcurrency_max=4\nenable_tls=false\n", "f.ini")


def test_the_queue_listing_gives_each_queue_file_its_recipients() -> None:
    assert [(e.queue_id, e.recipients) for e in haraka_json(REAL_QLIST)] == [
        ("1796422756332_1796422756332_0_33_s9676g_2_vm", ("e1m2@site-a.test",))
    ]
    assert parse_queue("", "haraka-json") == []


def test_the_version_comes_from_haraka_s_package_and_the_digest_is_per_build(
    tmp_path: Path,
) -> None:
    package = tmp_path / "lower" / "opt/haraka/node_modules/Haraka/package.json"
    package.parent.mkdir(parents=True)
    package.write_text('{"name": "Haraka", "version": "3.3.4"}')
    run = plan(tmp_path, lower=tmp_path / "lower")
    stock = Haraka().identity(run, lambda role, argv: "")
    assert stock.version == "3.3.4"
    assert Haraka(hol=True).identity(run, lambda role, argv: "").config_digest != (
        stock.config_digest
    )
