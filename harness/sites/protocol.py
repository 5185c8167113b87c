"""The line protocol between the harness and a mock site process.

A site prints one JSON object per line on standard output (events) and reads one JSON object
per line on standard input (commands). It is the same over a pipe (local backend) and over a
container's attached streams (docker backend).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Header carrying the harness's message id. A bounce quotes the original headers, so the same
#: pattern finds which message a DSN is about.
ID_HEADER = "X-Harness-Id"
ID_PATTERN = re.compile(rb"^X-Harness-Id:[ \t]*([A-Za-z0-9.-]+)", re.MULTILINE | re.IGNORECASE)

#: A DSN's ``Action:`` field (RFC 3464): failed, delayed, delivered, relayed or expanded.
DSN_ACTION = re.compile(rb"^Action:[ \t]*([A-Za-z]+)", re.MULTILINE | re.IGNORECASE)

STAGES = ("STARTTLS", "MAIL", "RCPT", "DATA")
#: What a site does to a STARTTLS it has answered 220: hold the handshake until healed
#: (``stall``), reset the connection as the handshake starts (``abort``), or complete it with
#: its bad certificate.
TLS_MISDEEDS = ("stall", "abort", "bad-cert")


@dataclass(frozen=True)
class Behaviour:
    """How a site answers at one SMTP stage: a delay before replying, and an optional code.

    ``code`` None means the normal answer (250/354). Any 4xx or 5xx makes the site refuse at
    that stage; ``delay`` makes it slow (the reply is held, other connections carry on).
    ``drop`` (DATA only) records the message, then cuts the connection instead of answering
    the final dot: the MTA cannot know the site has it, retries, and delivers it twice.
    At STARTTLS, ``delay`` holds the handshake (after the 220), ``code`` refuses TLS, and
    ``tls`` names a misdeed of :data:`TLS_MISDEEDS`.
    """

    stage: str
    code: int | None = None
    delay: float = 0.0
    text: str = "refused by the harness"
    drop: bool = False
    tls: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {self.stage!r}")
        if self.code is not None and not 400 <= self.code <= 599:
            raise ValueError(f"a refusal code is 4xx or 5xx, not {self.code}")
        if self.delay < 0:
            raise ValueError("delay cannot be negative")
        if self.drop and (self.stage != "DATA" or self.code is not None):
            raise ValueError("drop applies to the DATA stage only, without a code")
        if self.tls is not None and (self.stage != "STARTTLS" or self.tls not in TLS_MISDEEDS):
            raise ValueError(f"tls is one of {', '.join(TLS_MISDEEDS)}, at STARTTLS only")

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "code": self.code,
            "delay": self.delay,
            "text": self.text,
            "drop": self.drop,
            "tls": self.tls,
        }

    def describe(self) -> str:
        if self.drop:
            return "drops the connection after the final dot, without answering"
        if self.tls is not None:
            return {
                "stall": "answers 220 to STARTTLS, then holds the handshake until healed",
                "abort": "answers 220 to STARTTLS, then resets the connection",
                "bad-cert": "completes STARTTLS with an expired certificate for another name",
            }[self.tls]
        if self.stage == "STARTTLS" and self.code is None:
            return f"holds the TLS handshake {self.delay:g} s after answering 220"
        what = f"answers {self.code}" if self.code is not None else "answers normally"
        slow = f" after {self.delay:g} s" if self.delay else ""
        return f"{what}{slow} at {self.stage}"


def encode(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def decode_event(line: str) -> dict[str, Any] | None:
    """The event on ``line``, or None for a line that is only log output."""
    if not line.startswith('{"'):
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None
