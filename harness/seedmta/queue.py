"""The model's on-disk queue: one JSON file per message and next hop, written atomically.

A message is acknowledged (250) only after its files are on disk, and a file is removed only
after the next hop said 250: so nothing is lost across a crash or restart (at worst a message
is delivered twice, which the harness reports as a duplicate).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Entry:
    """One message bound for one next hop (domain)."""

    qid: str
    seq: int
    domain: str
    mail_from: str
    rcpts: list[str]
    data_b64: str
    attempts: int = 0
    next_attempt: float = 0.0  # wall clock: it must survive a restart
    last_error: str = ""
    created: float = field(default_factory=time.time)

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_b64)


class DiskQueue:
    """Thread-safe queue index over a folder of entry files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        for path in sorted(folder.glob("*.json")):
            entry = Entry(**json.loads(path.read_text()))
            self._entries[entry.qid] = entry
        for leftover in folder.glob("*.tmp"):
            leftover.unlink()  # a write that never completed was never acknowledged
        self._seq = max((e.seq for e in self._entries.values()), default=0)

    def _write(self, entry: Entry) -> None:
        tmp = self.folder / f"{entry.qid}.tmp"
        with tmp.open("w") as out:
            json.dump(asdict(entry), out)
            out.flush()
            os.fsync(out.fileno())
        tmp.rename(self.folder / f"{entry.qid}.json")

    def add(self, domain: str, mail_from: str, rcpts: list[str], data: bytes) -> Entry:
        with self._lock:
            self._seq += 1
            entry = Entry(
                qid=uuid.uuid4().hex[:12],
                seq=self._seq,
                domain=domain,
                mail_from=mail_from,
                rcpts=list(rcpts),
                data_b64=base64.b64encode(data).decode(),
            )
            self._write(entry)
            self._entries[entry.qid] = entry
            return entry

    def update(self, entry: Entry) -> None:
        with self._lock:
            self._write(entry)

    def remove(self, entry: Entry) -> None:
        with self._lock:
            self._entries.pop(entry.qid, None)
            (self.folder / f"{entry.qid}.json").unlink(missing_ok=True)

    def due(self, now: float, domain: str | None = None) -> list[Entry]:
        """Entries whose retry time has come, oldest first."""
        with self._lock:
            entries = [
                e
                for e in self._entries.values()
                if e.next_attempt <= now and (domain is None or e.domain == domain)
            ]
        return sorted(entries, key=lambda e: e.seq)

    def next_due(
        self, domain: str | None = None, skip: frozenset[str] = frozenset()
    ) -> float | None:
        """When the next entry (for ``domain``, not in ``skip``) falls due; None if none."""
        with self._lock:
            times = [
                e.next_attempt
                for e in self._entries.values()
                if (domain is None or e.domain == domain) and e.qid not in skip
            ]
        return min(times, default=None)

    def make_all_due(self) -> int:
        """Clear every entry's back-off (retry now); how many entries there are."""
        with self._lock:
            for entry in self._entries.values():
                entry.next_attempt = 0.0
                self._write(entry)
            return len(self._entries)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: e.seq)
            return [{k: v for k, v in asdict(e).items() if k != "data_b64"} for e in entries]


def read_queue(folder: Path) -> list[dict[str, Any]]:
    """The queue as stored on disk, for inspection from outside the running model."""
    entries = []
    for path in folder.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except FileNotFoundError:
            continue  # delivered while we looked
        entry.pop("data_b64", None)
        entries.append(entry)
    return sorted(entries, key=lambda e: int(e["seq"]))
