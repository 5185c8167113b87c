"""The MTA's own words about a failure, in one line: what the certification table gives as
the reason for a FAIL. Pure: the run's counterexamples and the MTA's log lines in, a line out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from harness.record import Example

#: Words of a line that tells why a message was held, refused or bounced.
_TELLING = re.compile(r"defer|fail|error|refus|timed? ?out|bounce|\bEOF\b|\b[45]\d\d\b", re.I)
LONGEST = 200


def failure_line(counterexamples: Iterable[Example], log: Sequence[str]) -> str | None:
    """The first broken claim's first message, in the MTA's words: its refusal at
    submission, what its queue said of it, or its log's line about it (one that tells of a
    failure if any does, else the last); None where the MTA said nothing of it."""
    for example in counterexamples:
        for claim in example.claims:
            if claim.holds:
                continue
            for item in claim.evidence:
                said = _said_of(item, log)
                if said:
                    return said if len(said) <= LONGEST else said[: LONGEST - 3] + "..."
    return None


def _said_of(item: object, log: Sequence[str]) -> str | None:
    refusal = getattr(item, "refusal", None)
    if isinstance(refusal, str) and refusal:
        return refusal
    held = getattr(item, "held", None)
    reason = getattr(held, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    message, site = getattr(item, "id", None), getattr(item, "site", None)
    if not isinstance(message, str) or not isinstance(site, str):
        return None
    # Its recipient (the id at its site's domain), not its Message-ID (the id at harness.test).
    rcpt = f"{message}@{site}."
    about = [line.strip() for line in log if rcpt in line]
    telling = [line for line in about if _TELLING.search(line)]
    if telling:
        return telling[0]
    return about[-1] if about else None
