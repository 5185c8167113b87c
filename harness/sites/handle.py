"""The harness's handle on one running mock site."""

from __future__ import annotations

from harness.backends.base import Backend, Service
from harness.sites.channel import CommandChannel, EventSink
from harness.sites.program import site_argv
from harness.sites.protocol import Behaviour
from harness.sites.tls import SiteCertificate
from harness.topology import Endpoint, Site


class SiteHandle:
    """Starts a site, forwards its events, and changes its behaviour on request."""

    def __init__(
        self, backend: Backend, site: Site, listen: Endpoint, sink: EventSink, acceptors: int = 1
    ) -> None:
        self.site = site
        self.listen = listen
        self.misbehaving = False
        self.service: Service = backend.spawn(
            "site", site.name, site_argv(site.name, str(listen), acceptors), address=listen.host
        )
        self._channel = CommandChannel(site.name, self.service, sink)

    def wait_ready(self, timeout: float) -> None:
        self._channel.wait_ready(timeout)

    def behave(self, behaviour: Behaviour) -> None:
        """From now on, answer ``behaviour.stage`` as told (refuse, delay or both)."""
        self._channel.command({"cmd": "behave", "behaviour": behaviour.to_json()})
        self.misbehaving = True

    def forget(self, stage: str) -> None:
        """Back to answering ``stage`` normally; what the site does at other stages stays."""
        self._channel.command({"cmd": "forget", "stage": stage})

    def offer_tls(self, certificate: SiteCertificate) -> None:
        """Offer STARTTLS from the next connection on, with ``certificate``."""
        self._channel.command({"cmd": "tls", **certificate.to_json()})

    def clear(self) -> None:
        """Back to accepting everything promptly."""
        self._channel.command({"cmd": "clear"})
        self.misbehaving = False
