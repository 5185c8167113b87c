"""A mock remote site: an aiosmtpd server that records every message it accepts.

Run as ``python -m harness.sites.server --name site-a --listen 127.0.0.11:2525``. One process
per site, because blocking work in one aiosmtpd handler stalls its whole event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import sys
import threading
import time
import weakref
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from harness.sites.protocol import DSN_ACTION, ID_PATTERN, Behaviour, encode


class Recorder:
    """Writes events to standard output, one line each, safe across threads."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        fields.update(event=event, site=self.site, t=time.monotonic(), wall=time.time())
        with self._lock:
            sys.stdout.write(encode(fields) + "\n")
            sys.stdout.flush()


class SiteHandler:
    """aiosmtpd hooks: record accepted messages; misbehave where told to."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.behaviours: dict[str, Behaviour] = {}
        self._counter = itertools.count(1)
        # Connections numbered in order of first use; weak keys, so closed sessions drop out.
        self._numbers: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()
        self._quit: weakref.WeakSet[Session] = weakref.WeakSet()

    def _connection(self, session: Session) -> str:
        number = self._numbers.get(session)
        if number is None:
            number = self._numbers[session] = next(self._counter)
        peer = session.peer
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        return f"{number}@{where}"

    async def _misbehave(self, stage: str, session: Session, rcpts: list[str]) -> str | None:
        behaviour = self.behaviours.get(stage)
        if behaviour is None:
            return None
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.code is None:
            return None
        # With the recipients where the stage knows them: a bounce is only excused by a
        # permanent refusal of that very message.
        self.recorder.emit(
            "refused",
            stage=stage,
            code=behaviour.code,
            rcpts=rcpts,
            connection=self._connection(session),
        )
        return f"{behaviour.code} {behaviour.text}"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = await self._misbehave("MAIL", session, [])
        if refusal:
            return refusal
        # Keep "<>" as given: aiosmtpd takes an empty mail_from to mean "no MAIL yet".
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = await self._misbehave("RCPT", session, [address])
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._quit.add(session)
        return "221 Bye"

    def closed(self, session: Session) -> None:
        """The connection is gone: say whether the client said QUIT first. A message whose
        connection closed without QUIT after the site took it may rightly come again (the
        sender never read the 250): the only evidence that excuses a duplicate."""
        if session in self._numbers:
            self.recorder.emit(
                "closed", connection=self._connection(session), quit=session in self._quit
            )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = await self._misbehave("DATA", session, list(envelope.rcpt_tos))
        if refusal:
            return refusal
        data = envelope.original_content or b""
        behaviour = self.behaviours.get("DATA")
        dropped = behaviour is not None and behaviour.drop
        self.recorder.emit(
            "message",
            mail_from="" if envelope.mail_from == "<>" else envelope.mail_from,  # null sender
            rcpts=list(envelope.rcpt_tos),
            harness_ids=[m.decode() for m in ID_PATTERN.findall(data)],
            # A DSN's per-recipient actions: "delayed" is a warning, not a bounce.
            dsn_actions=[a.decode().lower() for a in DSN_ACTION.findall(data)],
            connection=self._connection(session),
            size=len(data),
            dropped=dropped,
        )
        if dropped:
            # The site has the message; the MTA never hears so. Abort discards the reply.
            transport = server.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        return "250 OK recorded"


class SiteSMTP(SMTP):
    """aiosmtpd's SMTP server, telling the handler when a connection is gone."""

    def connection_lost(self, error: Exception | None) -> None:
        handler = self.event_handler
        if isinstance(handler, SiteHandler) and self.session is not None:
            handler.closed(self.session)
        super().connection_lost(error)


class SiteController(Controller):
    def factory(self) -> SMTP:
        return SiteSMTP(self.handler, **self.SMTP_kwargs)


def serve_commands(
    handler: SiteHandler, recorder: Recorder, loop: asyncio.AbstractEventLoop
) -> None:
    """Apply commands from standard input until it closes (the harness went away)."""
    for line in sys.stdin:
        try:
            command = json.loads(line)
            seq = command.get("seq")
            if command["cmd"] == "behave":
                behaviour = Behaviour(**command["behaviour"])
                loop.call_soon_threadsafe(
                    handler.behaviours.__setitem__, behaviour.stage, behaviour
                )
            elif command["cmd"] == "clear":
                loop.call_soon_threadsafe(handler.behaviours.clear)
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except (ValueError, KeyError, TypeError) as exc:
            recorder.emit("error", message=f"bad command {line.strip()!r}: {exc}")
            continue
        # The ack is queued behind the change on the loop, so once the harness reads it the
        # behaviour applies to every later SMTP command.
        loop.call_soon_threadsafe(functools.partial(recorder.emit, "ack", seq=seq))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.sites.server", description=__doc__)
    parser.add_argument("--name", required=True, help="site name used in events")
    parser.add_argument("--listen", required=True, help="HOST:PORT to listen on (loopback)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")

    recorder = Recorder(args.name)
    handler = SiteHandler(recorder)
    controller = SiteController(
        handler, hostname=host, port=int(port), server_hostname=args.name, ready_timeout=10
    )
    controller.start()
    recorder.emit("ready", listen=args.listen)
    try:
        assert controller.loop is not None
        serve_commands(handler, recorder, controller.loop)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
