"""The harness's handle on one running mock site."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any

from harness.backends.base import Backend, Service
from harness.clock import Deadline
from harness.errors import DeadlineExceeded
from harness.sites.protocol import Behaviour, decode_event, encode
from harness.sites.tls import SiteCertificate
from harness.topology import Endpoint, Site

EventSink = Callable[[dict[str, Any]], None]


class SiteHandle:
    """Starts a site, forwards its events, and changes its behaviour on request."""

    def __init__(self, backend: Backend, site: Site, listen: Endpoint, sink: EventSink) -> None:
        self.site = site
        self.listen = listen
        self._sink = sink
        self._acks: set[int] = set()
        self._acked = threading.Condition()
        self._seq = itertools.count(1)
        self.misbehaving = False
        self.service: Service = backend.spawn(
            "site",
            site.name,
            [
                sys.executable,
                "-m",
                "harness.sites.server",
                "--name",
                site.name,
                "--listen",
                str(listen),
            ],
            address=listen.host,
        )
        self.service.add_listener(self._on_line)

    def wait_ready(self, timeout: float) -> None:
        self.service.wait_for_line(
            lambda line: '"event":"ready"' in line, timeout, f"{self.site.name} ready"
        )

    def _on_line(self, line: str) -> None:
        event = decode_event(line)
        if event is None:
            return
        if event["event"] == "ack":
            with self._acked:
                self._acks.add(int(event["seq"]))
                self._acked.notify_all()
        else:
            self._sink(event)

    def _command(self, command: dict[str, Any], timeout: float = 5.0) -> None:
        seq = next(self._seq)
        self.service.send(encode({**command, "seq": seq}))
        deadline = Deadline.after(timeout)
        with self._acked:
            while seq not in self._acks:
                if deadline.passed():
                    raise DeadlineExceeded(f"{self.site.name} did not acknowledge {command}")
                self._acked.wait(deadline.remaining())

    def behave(self, behaviour: Behaviour) -> None:
        """From now on, answer ``behaviour.stage`` as told (refuse, delay or both)."""
        self._command({"cmd": "behave", "behaviour": behaviour.to_json()})
        self.misbehaving = True

    def forget(self, stage: str) -> None:
        """Back to answering ``stage`` normally; what the site does at other stages stays."""
        self._command({"cmd": "forget", "stage": stage})

    def offer_tls(self, certificate: SiteCertificate) -> None:
        """Offer STARTTLS from the next connection on, with ``certificate``."""
        self._command({"cmd": "tls", **certificate.to_json()})

    def clear(self) -> None:
        """Back to accepting everything promptly."""
        self._command({"cmd": "clear"})
        self.misbehaving = False
