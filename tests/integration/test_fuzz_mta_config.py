"""Fuzzing MTA configuration fragments (``--mta-config``): whatever the file holds, the command
ends in exit 2 with one message, never a traceback, and nothing starts. A fragment the
harness and the MTA accept gets as far as the last check (``--suites`` points nowhere); one
either refuses is named with its file and, where it can be told, its line.

Each fragment the harness's own checks pass is shown to the MTA's checker (``postconf`` and
``postfix check``, ``exim4 -bV``, ``smtpd -n``, m4 and
``sendmail -bt``) in a throwaway root: the examples with a real
MTA are few, as Postfix's check takes about two seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.table import TUNINGS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real MTAs' roots need root")

NAMES = {
    "postfix": [
        "smtp_connect_timeout",
        "default_process_limit",
        "qmgr_message_active_limit",
        "maximal_queue_lifetime",
        "smtp_destination_concurrency_limit",
        "relayhost",
        "inet_interfaces",
        "smtp_conect_timeout",
    ],
    "exim": [
        "queue_run_max",
        "remote_max_parallel",
        "retry_interval_max",
        "timeout_frozen_after",
        "local_interfaces",
        "qeue_run_max",
        "begin routers",
    ],
}
VALUES = ["5s", "10", "0", "-1", "yes", "banana", "", "1d", "$myhostname", "{", "}", "\\"]
WORDS = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=20
)


def setting_lines(mta: str) -> st.SearchStrategy[str]:
    name = st.sampled_from(NAMES[mta]) | st.from_regex(r"\A[a-z_]{1,12}\Z")
    value = st.sampled_from(VALUES) | WORDS
    return st.builds(lambda n, v: f"{n} = {v}", name, value)


def fragments(mta: str) -> st.SearchStrategy[str]:
    if mta == "opensmtpd":
        lines = st.sampled_from(
            [
                "queue ttl 4d",
                "smtp max-message-size 10M",
                "banana",
                "listen on 0.0.0.0",
                'action "x" relay',
                "# a comment",
            ]
        )
        return st.lists(lines | WORDS, min_size=1, max_size=4).map("\n".join)
    if mta == "sendmail":  # m4 for the .mc, and raw sendmail.cf lines it passes through
        names = st.sampled_from(["confTO_INITIAL", "confMAX_QUEUE_CHILDREN", "confSMART_HOST"])
        values = st.sampled_from(VALUES) | WORDS.filter(lambda w: "`" not in w and "'" not in w)
        defines = st.builds(lambda n, v: f"define(`{n}', `{v}')dnl", names, values)
        lines = st.sampled_from(
            [
                "FEATURE(`nosuchfeature')dnl",
                "DAEMON_OPTIONS(`Port=25')dnl",
                "O Bogus=1",
                "dnl a comment",
                "banana(",
            ]
        )
        return st.lists(defines | defines | lines | WORDS, min_size=1, max_size=4).map("\n".join)
    # Mostly settings, so that most fragments get past our checks to the MTA's checker.
    settings_ = setting_lines(mta)
    extras = st.sampled_from(["# a comment", "", "  continued"])
    lines = st.one_of(settings_, settings_, settings_, settings_, extras, WORDS)
    return st.lists(lines, min_size=1, max_size=4).map("\n".join)


def attempt(mta: str, text: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fragment.cf"
        path.write_text(text, errors="surrogateescape")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(
                    ["certify", "--mta", mta, "--mta-config", str(path), "--suites", "/nowhere"]
                )
            except SystemExit as exc:  # argparse
                code = int(exc.code or 0)
        return code, err.getvalue().replace(str(path), "FRAGMENT")


def check_one_clear_message(code: int, message: str) -> None:
    if "--suites" in message:
        event("accepted by the harness and the MTA")
    elif "refuses it" in message:
        event("refused by the MTA's own checker")
    else:
        event("refused by the harness's checks")
    assert code == 2, message
    assert "Traceback" not in message
    assert message.count("mta-harness: error:") == 1, message
    if "--suites" not in message:  # refused: the message says which file
        assert "--mta-config FRAGMENT" in message, message


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=fragments("postfix"))
def test_any_postfix_fragment_ends_in_one_clear_message(text: str) -> None:
    check_one_clear_message(*attempt("postfix", text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mta=st.sampled_from(["exim", "opensmtpd", "sendmail"]), data=st.data())
def test_any_exim_opensmtpd_or_sendmail_fragment_ends_in_one_clear_message(
    mta: str, data: st.DataObject
) -> None:
    check_one_clear_message(*attempt(mta, data.draw(fragments(mta))))


@pytest.mark.parametrize(
    ("mta", "text", "words"),
    [
        ("postfix", "# mine\ndefault_process_limit = banana\n", "line 2: bad numerical"),
        ("postfix", "smtp_conect_timeout = 5s\n", "line 1: Postfix has no parameter"),
        ("postfix", "relayhost = [192.0.2.1]\n", "line 1: relayhost is the harness's"),
        ("postfix-hol", "inet_interfaces = all\n", "inet_interfaces is the harness's"),
        ("exim", "queue_run_max = 3\nqeue_run_max = 3\n", 'line 2: main option "qeue_run_max"'),
        ("exim", "local_interfaces = 0.0.0.0\n", "local_interfaces is the harness's"),
        ("opensmtpd", "queue ttl 4d\nbanana split\n", "line 2: /etc/smtpd.conf"),
        ("sendmail", "dnl\nFEATURE(`nosuchfeature')dnl\n", "line 2: m4:/etc/mail/sendmail.mc"),
        ("sendmail", "O Bogus=1\n", "readcf: unknown option name Bogus"),
        ("sendmail-hol", "define(`SMART_HOST', `[192.0.2.1]')dnl\n", "SMART_HOST is the harness's"),
        ("courier", '[esmtpd]\nBLACKLISTS="unclosed\n', "/etc/courier/esmtpd"),
        ("courier-hol", "[esmtproutes]\nx: [192.0.2.1]\n", "[esmtproutes] is the harness's"),
        ("haraka", "concurency_max=4\n", "line 1: Haraka's outbound.ini has no setting"),
        (
            "chasquid",
            "max_data_size_mb: 10\nmax_dat_size_mb: 5\n",
            "unknown field: max_dat_size_mb",
        ),
        ("chasquid", 'data_dir: "/tmp"\n', "line 1: data_dir is the harness's"),
        ("maddy", "remote_queue {\n    max_trys 5\n}\n", "line 2: /etc/maddy/maddy.conf:"),
        ("maddy-hol", "tls off\n", "line 1: a maddy fragment is directives in remote_queue"),
        ("seedmta-sync", "x = 1\n", "takes no configuration fragment"),
    ],
)
def test_what_the_mta_refuses_is_named_with_its_line(mta: str, text: str, words: str) -> None:
    code, message = attempt(mta, text)
    assert code == 2
    assert words in message, message


@pytest.mark.parametrize(
    ("mta", "text"),
    [
        ("postfix", "smtp_connect_timeout = 5s\ndefault_process_limit = 10\n"),
        ("exim", "queue_run_max = 3\n"),
        ("opensmtpd", "queue ttl 4d\n"),
        ("sendmail", "define(`confTO_INITIAL', `30s')dnl\n"),
        ("courier", "[module.esmtp]\nMAXHOST=2\n[esmtpd]\nMAXPERIP=20\n"),
        ("haraka", "connect_timeout=10\n"),
        ("chasquid", "max_data_size_mb: 10\n"),
        ("maddy", "remote_queue {\n    max_tries 5\n}\n"),
        ("exim", (TUNINGS / "exim.conf").read_text()),  # the shipped tuning
    ],
)
def test_a_good_fragment_passes_every_check(mta: str, text: str) -> None:
    code, message = attempt(mta, text)
    assert code == 2 and "--suites /nowhere: no such file" in message, message


def test_a_checker_that_fails_without_a_known_complaint_is_still_reported() -> None:
    from harness.errors import UsageError
    from harness.mta import get_adapter
    from harness.mta.selfcheck import refuse_if_the_mta_does

    postfix = get_adapter("postfix")
    with pytest.raises(UsageError) as caught:
        refuse_if_the_mta_does(
            "postfix",
            "postfix",
            postfix.render,  # type: ignore[attr-defined]
            "smtp_connect_timeout = 5s\n",
            "f.cf",
            [["/bin/sh", "-c", "echo something odd; exit 3"]],
            lambda output: [],  # a complaint it cannot read
        )
    assert "exited with status 3: something odd" in str(caught.value)
