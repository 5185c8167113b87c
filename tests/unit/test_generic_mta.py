"""An MTA described in a TOML file: checked before anything starts, rendered per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.mta import get_adapter
from harness.mta.base import MtaPlan
from harness.mta.generic import GenericMta
from harness.mta.queues import parse_queue
from harness.topology import Endpoint

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "mta"


def describe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-mta.toml"
    path.write_text(text)
    return path


def test_the_shipped_example_loads_and_renders_routes(tmp_path: Path) -> None:
    mta = get_adapter(str(SHIPPED / "postfix-from-template.toml"))
    assert isinstance(mta, GenericMta) and mta.rootfs == "postfix"
    plan = MtaPlan(
        Endpoint("127.0.3.2", 2525),
        {"a.test": Endpoint("127.0.3.111", 2525), "b.test": Endpoint("127.0.3.112", 2525)},
        tmp_path,
    )
    files = mta.render(plan)
    main_cf = files["/etc/postfix/main.cf"]
    assert (
        "transport_maps = inline:{ a.test=smtp:[127.0.3.111]:2525, b.test=smtp:[127.0.3.112]:2525 }"
    ) in main_cf
    assert "relay_domains = a.test b.test" in main_cf
    assert files["/etc/postfix/master.cf"].lstrip().startswith("127.0.3.2:2525 inet")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('name = "x"\n', "command: required, unless an image runs its own entrypoint"),
        ('image = "i"\nrootfs = "postfix"\n', "image and rootfs: give one"),
        ('command = ["x"]\n[environment]\nA = "b"\n', "environment: only an image"),
        ('image = "i"\n[environment]\nA = "{nope}"\n', r"\[environment\] A: bad placeholder"),
        ('command = "x"\n', "command: Input should be a valid list"),
        ('command = ["x"]\nqueue_format = "xml"\n', "queue_format: Value error, expected one of"),
        ('command = ["x"]\ncomand = ["y"]\n', "comand: unknown field"),
        ('command = ["x"]\n[files]\n"/etc/x" = "{nope}"\n', "bad placeholder 'nope'"),
        ("command = [\n", "not valid TOML"),
    ],
)
def test_a_bad_description_names_the_file_and_the_key(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = describe(tmp_path, text)
    with pytest.raises(UsageError, match=complaint) as caught:
        GenericMta.load(path)
    assert str(path) in str(caught.value)


def test_a_missing_description_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        get_adapter(str(tmp_path / "absent.toml"))


def test_queue_listings_in_each_format_give_recipients() -> None:
    postfix = '{"queue_id": "A1", "recipients": [{"address": "e1m1@a.test"}]}\n'
    assert parse_queue(postfix, "postfix-json")[0].recipients == ("e1m1@a.test",)
    smtpctl = "1f|inet4|mta|0|h@b|e1m2@a.test|e1m2@a.test|1|2|3|0|pending|5|error\n"
    assert parse_queue(smtpctl, "smtpctl")[0].recipients == ("e1m2@a.test",)
    assert parse_queue("e1m3@a.test\n\n", "lines")[0].recipients == ("e1m3@a.test",)


def test_a_described_mta_gets_the_reasons_the_shipped_adapters_get() -> None:
    # One set of parsers: the Postfix delay reason and OpenSMTPD's last error are kept for a
    # TOML-described MTA too (the generic parser once dropped them).
    postfix = (
        '{"queue_id": "A1", "recipients": [{"address": "e1m1@a.test", '
        '"delay_reason": "connect to 127.0.0.111[127.0.0.111]:2525: Connection timed out"}]}\n'
    )
    assert "Connection timed out" in parse_queue(postfix, "postfix-json")[0].reason
    smtpctl = "1f|inet4|mta|0|h@b|e1m2@a.test|e1m2@a.test|1|2|3|0|pending|5|Network error\n"
    assert parse_queue(smtpctl, "smtpctl")[0].reason == "Network error"


def test_a_description_may_bring_its_own_root_filesystem_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.rootfs import load_recipe

    monkeypatch.setenv("MTA_HARNESS_ROOTFS", str(tmp_path / "store" / "rootfs"))
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "my-postfix.toml").write_text(
        'suite = "bookworm"\ninclude = ["postfix", "postfix-pcre"]\n'
    )
    by_path = describe(tmp_path, 'command = ["x"]\nrootfs = "recipes/my-postfix.toml"\n')
    recipe = load_recipe(str(GenericMta.load(by_path).rootfs))
    assert (recipe.name, recipe.include) == ("my-postfix", ("postfix", "postfix-pcre"))
    inline = describe(
        tmp_path,
        'name = "inline-postfix"\ncommand = ["x"]\n[rootfs]\nsuite = "bookworm"\n'
        'include = ["postfix", "postfix-lmdb"]\n',
    )
    recipe = load_recipe(str(GenericMta.load(inline).rootfs))
    assert (recipe.name, recipe.include) == ("inline-postfix", ("postfix", "postfix-lmdb"))
    # Kept beside the built trees, and the same recipe text gives the same cached tree.
    assert GenericMta.load(inline).rootfs == str(
        tmp_path / "store" / "recipes" / "inline-postfix.toml"
    )
    missing = describe(tmp_path, 'command = ["x"]\nrootfs = "recipes/nope.toml"\n')
    with pytest.raises(UsageError, match="no root filesystem recipe"):
        load_recipe(str(GenericMta.load(missing).rootfs))
