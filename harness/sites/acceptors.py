"""A site of several acceptors: N site servers on one address (``SO_REUSEPORT``), one process
each, behind this relay, which the harness drives exactly as it drives one server.

The relay hands every command to every acceptor and acknowledges it only once all of them
did, so a behaviour applies to the next SMTP command on any connection; it passes their
events on line by line, and says the site is ready once every acceptor is. When the harness
goes (standard input closes), the acceptors' inputs close and they end as a lone site does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from typing import IO

from harness.sites.protocol import encode


def relay(name: str, listen: str, count: int) -> int:
    """Run ``count`` acceptors for site ``name`` on ``listen`` until standard input closes."""
    lock = threading.Lock()
    acks: Counter[object] = Counter()
    ready = 0

    def out(line: str) -> None:
        with lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def pass_on(stream: IO[str]) -> None:
        nonlocal ready
        for line in stream:
            kind = _event_kind(line)
            if kind == "ack":
                seq = json.loads(line).get("seq")
                with lock:
                    acks[seq] += 1
                    done = acks[seq] == count
                if done:
                    out(line)
            elif kind == "ready":
                with lock:
                    ready += 1
                    first_all = ready == count
                if first_all:
                    out(encode({"event": "ready", "site": name, "listen": listen}) + "\n")
            else:
                out(line)

    acceptors = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.sites.server",
                "--name",
                name,
                "--listen",
                listen,
                "--acceptor",
                str(i + 1),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        for i in range(count)
    ]
    readers = [threading.Thread(target=pass_on, args=(a.stdout,), daemon=True) for a in acceptors]
    for reader in readers:
        reader.start()
    try:
        for line in sys.stdin:
            for acceptor in acceptors:
                assert acceptor.stdin is not None
                acceptor.stdin.write(line)
                acceptor.stdin.flush()
    except KeyboardInterrupt:
        pass
    finally:
        for acceptor in acceptors:
            if acceptor.stdin is not None:
                acceptor.stdin.close()
        for acceptor in acceptors:
            acceptor.wait()
        for reader in readers:
            reader.join()
    return 0


def _event_kind(line: str) -> str | None:
    # Only acks and readiness are the relay's business; the rest passes unparsed.
    if '"event":"ack"' in line or '"event": "ack"' in line:
        return "ack"
    if '"event":"ready"' in line or '"event": "ready"' in line:
        return "ready"
    return None
