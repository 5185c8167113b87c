"""The table's reason for a FAIL is the MTA's own words about its first counterexample."""

from __future__ import annotations

from harness.report.mta_words import failure_line

from ..conftest import example_record

POSTFIX_LOG = [
    "postfix/qmgr[7]: 4A1: from=<harness@bounces.test>, size=1595, nrcpt=1 (queue active)",
    "postfix/cleanup[9]: 4A1: message-id=<e3m2@harness.test>",
    "postfix/smtp[12]: 4A1: to=<e3m2@site-b.test>, relay=127.0.7.112[127.0.7.112]:2525, "
    "delay=13, delays=0.01/13/0.01/0.01, dsn=2.0.0, status=sent (250 OK)",
]


def late(message: str, site: str = "site-b") -> dict[str, object]:
    return {
        "kind": "late",
        "id": message,
        "site": site,
        "waited": 13.0,
        "arrived": True,
        "acceptance": 0.01,
    }


def test_a_late_message_is_told_by_the_mta_s_line_about_its_recipient() -> None:
    example = example_record(healthy="broken", evidence=[late("e3m2")])
    said = failure_line([example], POSTFIX_LOG)
    assert said is not None and said.startswith("postfix/smtp[12]: 4A1: to=<e3m2@site-b.test>")


def test_a_line_that_tells_of_a_failure_comes_first_and_the_message_id_header_is_not_it() -> None:
    log = [
        'queue: delivery attempt failed {"rcpt":"e1m1@site-a.test","reason":"EOF"}',
        'queue: not delivered, permanent error {"rcpt":"e1m1@site-a.test"}',
        "cleanup: message-id=<e9m9@harness.test> failed",  # another message's header
    ]
    example = example_record(healthy="broken", evidence=[late("e1m1", "site-a")])
    assert failure_line([example], log) == log[0]
    assert failure_line([example_record(healthy="broken", evidence=[late("e9m9")])], log) is None


def test_mail_refused_at_submission_is_told_by_the_refusal_and_a_pass_says_nothing() -> None:
    refused = {
        "kind": "refused at submission",
        "id": "e1m213",
        "site": "site-b",
        "refusal": "451 4.3.0 Failed to queue message: Queue size too big",
    }
    example = example_record(healthy="broken", evidence=[refused])
    assert failure_line([example], []) == refused["refusal"]
    assert failure_line([example_record(evidence=[late("e3m2")])], POSTFIX_LOG) is None
