"""The mock site lists only its hook names to aiosmtpd (a per-connection cost): aiosmtpd must
still find every command, AUTH mechanism and hook it would find on the full listing."""

from __future__ import annotations

import asyncio

from harness.sites.server import Recorder, SiteHandler, SiteSMTP


def _named(obj: object, prefix: str) -> set[str]:
    # object.__dir__ is the full listing, past the site's override.
    return {name.removeprefix(prefix) for name in object.__dir__(obj) if name.startswith(prefix)}


def test_aiosmtpd_finds_every_command_mechanism_and_hook_of_the_site() -> None:
    async def connect() -> tuple[SiteHandler, SiteSMTP]:
        handler = SiteHandler(Recorder("site-a"))
        return handler, SiteSMTP(handler, hostname="site-a", loop=asyncio.get_running_loop())

    handler, server = asyncio.run(connect())
    assert set(server._smtp_methods) == _named(server, "smtp_") >= {"STARTTLS", "DATA", "QUIT"}
    assert set(server._auth_methods) == _named(server, "auth_") | _named(handler, "auth_")
    assert (
        set(server._handle_hooks)
        == _named(handler, "handle_")
        == {
            "MAIL",
            "RCPT",
            "DATA",
            "QUIT",
        }
    )
    # The site's own STARTTLS (its misdeeds), not aiosmtpd's.
    assert server._smtp_methods["STARTTLS"].__func__ is SiteSMTP.smtp_STARTTLS
