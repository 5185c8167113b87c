"""Unit tests of the chasquid adapter's rendering and queue reading: no MTA is started here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta.base import MtaPlan
from harness.mta.chasquid import Chasquid, check_settings, render_config, start_script
from harness.mta.queues import chasquid_dump
from harness.topology import Endpoint


def plan(tmp_path: Path, **changes: object) -> MtaPlan:
    base = MtaPlan(
        listen=Endpoint("127.0.7.2", 2525),
        routes={"site-a.test": Endpoint("127.0.7.111", 25)},
        workdir=tmp_path,
        routing="dns",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_chasquid_takes_submissions_on_the_run_address_and_logs_mail_to_its_output(
    tmp_path: Path,
) -> None:
    conf = render_config(plan(tmp_path, fragment="max_data_size_mb: 10"))
    assert 'submission_address: "127.0.7.2:2525"' in conf
    assert 'monitoring_address: "127.0.7.2:1099"' in conf
    assert 'mail_log_path: "<stdout>"' in conf
    assert conf.rstrip().endswith("max_data_size_mb: 10")  # the user's word last
    assert "smtp_address" in conf and "submission_over_tls_address" in conf  # not systemd's


def test_chasquid_is_routed_by_mx_only_and_submitted_to_as_its_user() -> None:
    adapter = Chasquid()
    assert adapter.routings == ("dns",)
    assert adapter.login is not None
    script = start_script()
    assert f"user-add {adapter.login.user} --password={adapter.login.password}" in script
    # Run again only when the harness asked (retry-now); a crash ends the MTA.
    assert '[ -e /run/harness-restart ] || exit "$status"' in script


@pytest.mark.parametrize(
    ("fragment", "said"),
    [
        ("max_data_size_mb 10", "line 1: a chasquid fragment is chasquid.conf settings"),
        ('# ok\nsubmission_address: ":25"', "line 2: submission_address is the harness's"),
        ('data_dir: "/tmp"', "data_dir is the harness's"),
    ],
)
def test_a_fragment_that_is_not_settings_or_sets_the_harnesss_own_is_refused(
    fragment: str, said: str
) -> None:
    with pytest.raises(UsageError, match=said):
        check_settings(fragment, "tuning.conf")


CHASQUID_QUEUE = """# Queue status

date: 2026-12-07 15:50:01.1 +0000 UTC
length: 2

## Item SbfZTwy4
created at: 2026-12-07 15:49:58.2 +0000 UTC
from: harness@bounces.test
to: [e1m1@site-a.test]
PENDING e1m1@site-a.test (EMAIL)
  original address: e1m1@site-a.test
  last failure: "Could not dial: dial tcp 127.0.9.111:25: connect: connection refused"

## Item Xa1b2c3d
created at: 2026-12-07 15:49:58.3 +0000 UTC
from: harness@bounces.test
to: [e1m2@site-b.test]
SENT e1m2@site-b.test (EMAIL)
  original address: e1m2@site-b.test
  last failure: ""

"""


def test_chasquid_lists_the_pending_recipients_of_each_item_with_their_failure() -> None:
    entries = chasquid_dump(CHASQUID_QUEUE)
    assert [(e.queue_id, e.recipients) for e in entries] == [("SbfZTwy4", ("e1m1@site-a.test",))]
    assert "connection refused" in entries[0].reason
    assert chasquid_dump("# Queue status\n\ndate: x\nlength: 0\n\n") == []
