"""Queue listings, one parser per format: what the shipped adapters read and what a
described or external MTA may name as its ``queue_format``. One set, so a fix (the reason
Postfix gives for a deferral, say) reaches every MTA that lists its queue that way."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, Field

from harness.mta.base import CommandRunner, MtaPlan, QueueEntry
from harness.schema import StrictModel


def postfix_json(text: str) -> list[QueueEntry]:
    """``postqueue -j``: one JSON object per message, with each recipient's delay reason."""
    entries = []
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            rcpts = item.get("recipients", [])
            entries.append(
                QueueEntry(
                    str(item["queue_id"]),
                    tuple(str(r["address"]) for r in rcpts),
                    "; ".join(str(r.get("delay_reason", "")) for r in rcpts),
                    in_delivery=item.get("queue_name") == "active",
                )
            )
    return entries


def exim_bp(text: str) -> list[QueueEntry]:
    """``exim -bp``: a header line per message, then its undelivered recipients."""
    entries: list[QueueEntry] = []
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        header = re.match(r"^\s*\S+\s+\S+\s+(\S{6}-\S{6}-\S{2,4})\s", line)
        if header:
            if current:
                entries.append(QueueEntry(current[0], tuple(current[1])))
            current = (header.group(1), [])
        elif current and line.strip():
            fields = line.split()
            if fields[0] != "D":  # "D address" is already delivered
                current[1].append(fields[-1])
    if current:
        entries.append(QueueEntry(current[0], tuple(current[1])))
    return entries


def smtpctl(text: str) -> list[QueueEntry]:
    """``smtpctl show queue``: one ``|``-separated line per envelope; field 14, where
    present, is the last error (the reason it is still queued)."""
    entries = []
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) >= 6:
            reason = fields[13] if len(fields) >= 14 else ""
            entries.append(QueueEntry(fields[0], (fields[5],), reason))
    return entries


def sendmail_bp(text: str) -> list[QueueEntry]:
    """``sendmail -bp`` (``mailq``): a line per message (queue id, size, time, sender), then
    indented lines: the reason in parentheses, where it was deferred, and each recipient."""
    entries: list[QueueEntry] = []
    current: tuple[str, list[str], list[str]] | None = None

    def close() -> None:
        if current:
            entries.append(QueueEntry(current[0], tuple(current[1]), "; ".join(current[2])))

    for line in text.splitlines():
        # "4B4CU5Yq000123*     321 Fri Dec  4 12:30 <harness@bounces.test>"; a "*" marks
        # a message being delivered, "X" or "-" one held back by load.
        header = re.match(r"^([A-Za-z0-9]{8,})[*X-]?\s+\d+\s+\w{3} \w{3}\s+\d+ [\d:]+\s", line)
        if header:
            close()
            current = (header.group(1), [], [])
        elif current and line[:1].isspace():
            item = line.strip()
            if item.startswith("("):
                current[2].append(item.strip("()"))
            elif item and not item.startswith("Total requests"):
                current[1].append(item.strip("<>"))
    close()
    return entries


def courier_batch(text: str) -> list[QueueEntry]:
    """Courier's ``mailq -batch``: a line per message, ``size;qid;date;user;from;`` then a
    ``status;recipient`` pair per recipient; a recipient with a status (delivered or failed)
    is no longer held."""
    entries = []
    for line in text.splitlines():
        fields = line.split(";")
        if len(fields) < 7:
            continue
        pairs = list(zip(fields[5::2], fields[6::2], strict=False))
        held = tuple(rcpt.strip("<>") for status, rcpt in pairs if not status.strip() and rcpt)
        if held:
            entries.append(QueueEntry(fields[1], held))
    return entries


def haraka_json(text: str) -> list[QueueEntry]:
    """Haraka's queue as the harness's listing script prints it (``outbound.list_queue``): a
    JSON object per queue file, ``{"file", "domain", "rcpt": [...]}``."""
    entries = []
    for line in text.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            entries.append(QueueEntry(str(item["file"]), tuple(str(r) for r in item["rcpt"])))
    return entries


def chasquid_dump(text: str) -> list[QueueEntry]:
    """chasquid's monitoring page ``/debug/queue``: an ``## Item ID`` section per message,
    a ``STATUS address (TYPE)`` line per recipient, each followed by its ``last failure``;
    a message is still held for its PENDING recipients."""
    entries: list[QueueEntry] = []
    for section in text.split("\n## Item ")[1:]:
        queue_id, _, body = section.partition("\n")
        pending: list[str] = []
        reasons: list[str] = []
        held = False
        for line in body.splitlines():
            if not line.startswith(" ") and " (" in line:  # "PENDING a@b.test (EMAIL)"
                held = line.startswith("PENDING ")
                if held:
                    pending.append(line.split()[1])
            elif held and line.strip().startswith("last failure:"):
                reason = line.split(":", 1)[1].strip().strip('"')
                if reason:
                    reasons.append(reason)
        if pending:
            entries.append(QueueEntry(queue_id.strip(), tuple(pending), "; ".join(reasons)))
    return entries


def lines(text: str) -> list[QueueEntry]:
    """One recipient address per line (any MTA, through a small script)."""
    return [
        QueueEntry(str(n), (line.strip(),))
        for n, line in enumerate(text.splitlines())
        if line.strip()
    ]


#: ``queue_format`` name -> parser.
QUEUE_FORMATS: dict[str, Callable[[str], list[QueueEntry]]] = {
    "postfix-json": postfix_json,
    "exim-bp": exim_bp,
    "smtpctl": smtpctl,
    "sendmail-bp": sendmail_bp,
    "courier-batch": courier_batch,
    "haraka-json": haraka_json,
    "lines": lines,
}


def parse_queue(text: str, queue_format: str) -> list[QueueEntry]:
    """``text`` read as ``queue_format`` (one of :data:`QUEUE_FORMATS`)."""
    return QUEUE_FORMATS[queue_format](text)


def check_format(value: str) -> str:
    """A validator: ``value`` names a known queue format."""
    if value not in QUEUE_FORMATS:
        raise ValueError(f"expected one of {', '.join(QUEUE_FORMATS)}")
    return value


class DescribedQueueKeys(StrictModel):
    """The keys of an MTA description (``--mta FILE.toml``) that name its queue commands."""

    queue: list[str] = Field(default_factory=list)
    queue_format: Annotated[str, AfterValidator(check_format)] = "lines"
    flush: list[str] = Field(default_factory=list)


@dataclass(kw_only=True)
class DescribedQueue:
    """An adapter whose queue listing and retry-now are the commands its description names
    (TOML-described and external MTAs)."""

    queue_command: list[str] = field(default_factory=list)
    queue_format: str = "lines"
    #: Asks the MTA to retry everything now (``flush = [...]``); empty if it cannot.
    flush_command: list[str] = field(default_factory=list)

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry] | None:
        if not self.queue_command:
            return None  # no way to look: unsettled mail is then "not proven", never hidden
        return parse_queue(run("mta", self.queue_command), self.queue_format)

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str | None:
        if not self.flush_command:
            return None
        return run("mta", self.flush_command) or " ".join(self.flush_command)
