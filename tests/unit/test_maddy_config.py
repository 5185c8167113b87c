"""Unit tests of the maddy adapter's rendering, fragment checks and queue reading: no MTA is
started here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.maddy import Maddy, check_blocks, queue_files, render_config
from harness.rootfs import go_replaces
from harness.topology import Endpoint


def plan(tmp_path: Path, **changes: object) -> MtaPlan:
    base = MtaPlan(
        listen=Endpoint("127.0.7.2", 2525),
        routes={"site-a.test": Endpoint("127.0.7.111", 25)},
        workdir=tmp_path,
        routing="dns",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_outbound_half_of_the_stock_config_fed_from_the_run_address(tmp_path: Path) -> None:
    conf = render_config(plan(tmp_path), hol=False)
    assert "smtp tcp://127.0.7.2:2525 {" in conf
    assert "deliver_to &remote_queue" in conf and "target &outbound_delivery" in conf
    assert "destination concurrency 10" in conf and "min_tls_level encrypted" in conf
    assert "max_parallelism" not in conf  # stock: 16
    assert conf.count("{") == conf.count("}")
    hol = render_config(plan(tmp_path), hol=True)
    assert "max_parallelism 1" in hol.split("target.queue remote_queue {", 1)[1]
    assert Maddy().routings == ("dns",) and Maddy().login is None


def test_a_fragment_goes_inside_the_blocks_it_names(tmp_path: Path) -> None:
    fragment = "remote_queue {\n    max_tries 5\n}\noutbound_delivery {\n  connect_timeout 30s\n}\n"
    check_blocks(fragment, "tuning.conf")
    conf = render_config(plan(tmp_path, fragment=fragment), hol=False)
    queue = conf.split("target.queue remote_queue {", 1)[1]
    remote = conf.split("target.remote outbound_delivery {", 1)[1].split("target.queue", 1)[0]
    assert "    max_tries 5" in queue and "connect_timeout 30s" in remote
    assert conf.count("{") == conf.count("}")


@pytest.mark.parametrize(
    ("fragment", "said"),
    [
        ("max_tries 5\n", "line 1: a maddy fragment is directives in remote_queue"),
        ("smtp tcp://0.0.0.0:25 {\n}\n", "line 1: a maddy fragment is directives"),
        ("remote_queue {\n  max_tries 5\n", "a block is not closed"),
        ("remote_queue {\n}\n}\n", "line 3: a maddy fragment is directives"),
        ("remote_queue {\n  max_tries 5 } }\n", "line 2: a '}' closes nothing"),
    ],
)
def test_a_fragment_outside_the_two_blocks_is_refused(fragment: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        check_blocks(fragment, "tuning.conf")


def test_the_queue_is_read_from_its_metadata_files() -> None:
    text = (
        "/var/lib/maddy/remote_queue/0d85feba.meta\t"
        '{"MsgMeta":{"ID":"0d85feba"},"From":"harness@bounces.test","To":["e1m4@site-a.test"],'
        '"RcptErrs":{"e1m4@site-a.test":{"Code":451,"Message":"No usable MXs, last err: EOF"}},'
        '"TriesCount":{"e1m4@site-a.test":1}}\n'
    )
    (entry,) = queue_files(text)
    assert (entry.queue_id, entry.recipients) == ("0d85feba", ("e1m4@site-a.test",))
    assert "No usable MXs" in entry.reason
    assert queue_files("") == []


def test_a_go_programs_own_replace_directives_are_read_from_its_go_mod() -> None:
    go_mod = """module github.com/foxcpp/maddy

require github.com/emersion/go-imap v1.2.1

replace github.com/emersion/go-imap => github.com/foxcpp/go-imap v1.0.0-beta.1 // fork

replace (
\tgithub.com/libdns/gandi => github.com/foxcpp/libdns-gandi v1.0.4
\texample.com/local => ../local
)
"""
    assert go_replaces(go_mod) == [
        ("github.com/emersion/go-imap", "github.com/foxcpp/go-imap@v1.0.0-beta.1"),
        ("github.com/libdns/gandi", "github.com/foxcpp/libdns-gandi@v1.0.4"),
    ]
