"""A client for the real Toxiproxy server's HTTP API (v2.12).

Why not ``toxiproxy-python``: its server address is a class-level global (one server per
process, so two topologies in one pytest process would talk to the same one), it sets no
request timeouts (a hung server would hang the harness) and it does not raise on 500/503.
This module is the one place that talks to Toxiproxy; the rest of the harness goes through it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from harness.errors import HarnessError
from harness.topology import Endpoint


class ToxiproxyError(HarnessError):
    """Toxiproxy refused a request or could not be reached."""


class ToxiproxyClient:
    """Calls to one Toxiproxy server; every call has a timeout and raises on failure."""

    def __init__(self, api: Endpoint, timeout: float = 10.0) -> None:
        self.base = f"http://{api}"
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False  # never route loopback calls through an HTTP proxy

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, self.base + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"Toxiproxy at {self.base} unreachable: {exc}") from exc
        if response.status_code >= 300:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:
                detail = response.text
            raise ToxiproxyError(
                f"Toxiproxy {method} {path} answered {response.status_code}: {detail}"
            )
        return response.json() if response.content else None

    def version(self) -> str:
        return str(self._call("GET", "/version")["version"])

    def create_proxy(self, name: str, listen: Endpoint, upstream: Endpoint) -> None:
        self._call(
            "POST",
            "/proxies",
            {"name": name, "listen": str(listen), "upstream": str(upstream), "enabled": True},
        )

    def proxies(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/proxies")
        return result

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Disabled: the listener closes (connects are refused) and open connections drop."""
        self._call("PATCH", f"/proxies/{proxy}", {"enabled": enabled})

    def add_toxic(
        self,
        proxy: str,
        name: str,
        kind: str,
        attributes: dict[str, Any],
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> None:
        self._call(
            "POST",
            f"/proxies/{proxy}/toxics",
            {
                "name": name,
                "type": kind,
                "stream": stream,
                "toxicity": toxicity,
                "attributes": attributes,
            },
        )

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic (held connections are closed)."""
        self._call("POST", "/reset")

    def close(self) -> None:
        """Close the HTTP connections, without ever blocking teardown: a Ctrl-C that landed
        inside a request can leave the connection pool's lock held, and closing the pool
        would then wait on it forever."""
        closer = threading.Thread(target=self._http.close, name="toxiproxy-close", daemon=True)
        closer.start()
        closer.join(timeout=2.0)
