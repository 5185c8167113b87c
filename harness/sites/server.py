"""A mock remote site: an aiosmtpd server that records every message it accepts.

Run as ``python -m harness.sites.server --name site-a --listen 127.0.0.11:2525``. One process
per site, because blocking work in one aiosmtpd handler stalls its whole event loop. With
``--acceptors N`` the site is N such servers on one address (``SO_REUSEPORT``: the kernel
deals the connections out), each on a core of its own, behind one process that relays their
events and hands every command to all of them (:mod:`harness.sites.acceptors`): a site that
is never the bottleneck of a load.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import weakref
from typing import Any, ClassVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

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


#: The names aiosmtpd looks up on its server and its handler: commands, AUTH mechanisms, hooks.
HOOK_PREFIXES = ("smtp_", "auth_", "handle_")


class ListsOnlyHooks:
    """aiosmtpd finds a connection's commands and hooks by walking ``dir()`` of its server and
    its handler (``inspect.getmembers``, which reads every attribute) on every connection: it
    was half a site's time per message with one message a connection. Only the hook names are
    listed, once per class: what aiosmtpd finds is unchanged."""

    _hook_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._hook_names = tuple(name for name in dir(cls) if name.startswith(HOOK_PREFIXES))

    def __dir__(self) -> tuple[str, ...]:
        return self._hook_names


class SiteHandler(ListsOnlyHooks):
    """aiosmtpd hooks: record accepted messages; misbehave where told to."""

    def __init__(self, recorder: Recorder, acceptor: str = "") -> None:
        self.recorder = recorder
        #: Which of the site's acceptors this is ("2."), so connections stay told apart.
        self.acceptor = acceptor
        self.behaviours: dict[str, Behaviour] = {}
        self._counter = itertools.count(1)
        # Connections numbered in order of first use; weak keys, so closed sessions drop out.
        self._numbers: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()
        #: Messages each connection carried so far: an MTA that hangs up after so many and
        #: waits to reconnect shows it here (``harness.claims.pacing`` sizes its control by it).
        self._carried: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()
        self._quit: weakref.WeakSet[Session] = weakref.WeakSet()
        #: STARTTLS is offered once the harness has sent certificates ("good", "bad").
        self.tls_contexts: dict[str, ssl.SSLContext] = {}
        #: Done when the site stops misbehaving at STARTTLS (the loop's, made on first use).
        self._starttls_healed: asyncio.Future[None] | None = None

    @property
    def starttls_healed(self) -> asyncio.Future[None]:
        if self._starttls_healed is None or self._starttls_healed.done():
            self._starttls_healed = asyncio.get_running_loop().create_future()
        return self._starttls_healed

    def forget(self, stage: str) -> None:
        """Answer ``stage`` normally again; handshakes held at STARTTLS go on."""
        self.behaviours.pop(stage, None)
        healed = self._starttls_healed
        if stage == "STARTTLS" and healed is not None and not healed.done():
            healed.set_result(None)

    def clear(self) -> None:
        for stage in list(self.behaviours):
            self.forget(stage)

    def _connection(self, session: Session) -> str:
        number = self._numbers.get(session)
        if number is None:
            number = self._numbers[session] = next(self._counter)
        peer = session.peer
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        return f"{self.acceptor}{number}@{where}"

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
        seq = self._carried[session] = self._carried.get(session, 0) + 1
        self.recorder.emit(
            "message",
            mail_from="" if envelope.mail_from == "<>" else envelope.mail_from,  # null sender
            rcpts=list(envelope.rcpt_tos),
            harness_ids=[m.decode() for m in ID_PATTERN.findall(data)],
            # A DSN's per-recipient actions: "delayed" is a warning, not a bounce.
            dsn_actions=[a.decode().lower() for a in DSN_ACTION.findall(data)],
            connection=self._connection(session),
            seq=seq,
            size=len(data),
            dropped=dropped,
            tls=tls_version(session),
        )
        if dropped:
            # The site has the message; the MTA never hears so. Abort discards the reply.
            transport = server.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        return "250 OK recorded"


def tls_version(session: Session) -> str | None:
    """The TLS version a session's mail came over, None for plain text."""
    extra = session.ssl
    ssl_object = extra.get("ssl_object") if isinstance(extra, dict) else None
    return ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else None


class SiteSMTP(ListsOnlyHooks, SMTP):
    """aiosmtpd's SMTP server, telling the handler when a connection is gone, and
    misbehaving at STARTTLS where told to."""

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        handler = self.event_handler
        behaviour = handler.behaviours.get("STARTTLS") if isinstance(handler, SiteHandler) else None
        if behaviour is None or arg or self.tls_context is None or self.session is None:
            await super().smtp_STARTTLS(arg)
            return
        assert isinstance(handler, SiteHandler)
        connection = handler._connection(self.session)
        if behaviour.code is not None:  # TLS refused: the sender may go on in plain text
            refusal = await handler._misbehave("STARTTLS", self.session, [])
            await self.push(refusal or "454 TLS not available")
            return
        handler.recorder.emit("starttls", misdeed=behaviour.tls, connection=connection)
        if behaviour.tls == "bad-cert":
            self.tls_context = handler.tls_contexts["bad"]
        elif behaviour.tls == "abort":
            await self.push("220 Ready to start TLS")
            await self._reader.read(1)  # the sender's handshake has begun
            self._reset_connection()
            return
        elif behaviour.tls == "stall" or behaviour.delay:
            # The handshake's first bytes wait in the kernel: for the delay, or (stall) until
            # the site is healed, as a dead link's data waits in Toxiproxy until its heal.
            transport = self.transport
            assert isinstance(transport, asyncio.Transport)
            transport.pause_reading()
            if behaviour.tls == "stall":
                healed = handler.starttls_healed
                healed.add_done_callback(lambda _: transport.resume_reading())
            else:
                self.loop.call_later(behaviour.delay, transport.resume_reading)
        await super().smtp_STARTTLS(arg)

    def _reset_connection(self) -> None:
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:  # linger 0: the close is a reset, not a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if isinstance(transport, asyncio.Transport):
            transport.abort()

    def connection_lost(self, error: Exception | None) -> None:
        handler = self.event_handler
        if isinstance(handler, SiteHandler) and self.session is not None:
            handler.closed(self.session)
        super().connection_lost(error)


class SiteController(Controller):
    #: One of several acceptors on one address (``SO_REUSEPORT``).
    shared = False

    def _create_server(self) -> Any:
        if not self.shared:
            return super()._create_server()
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, reuse_port=True
        )

    def _trigger_server(self) -> None:
        if not self.shared:
            super()._trigger_server()  # type: ignore[no-untyped-call]
            return
        # aiosmtpd checks its factory by connecting to the port; with several acceptors on
        # it, the kernel may hand that connection to another one. Call the factory here.
        self.loop.call_soon_threadsafe(self._factory_invoker)

    def factory(self) -> SMTP:
        # Per connection: STARTTLS is offered from the first connection after certificates.
        contexts = self.handler.tls_contexts if isinstance(self.handler, SiteHandler) else {}
        return SiteSMTP(self.handler, tls_context=contexts.get("good"), **self.SMTP_kwargs)


def server_context(chain: str, key: str) -> ssl.SSLContext:
    """A server TLS context from PEM text (the ssl module loads certificates from files
    only: a private temporary folder, removed at once)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("chain.pem", "key.pem")]
        for path, text in zip(paths, (chain, key), strict=True):
            with open(path, "w") as out:
                out.write(text)
        context.load_cert_chain(*paths)
    return context


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
                loop.call_soon_threadsafe(handler.clear)
            elif command["cmd"] == "forget":
                loop.call_soon_threadsafe(handler.forget, str(command["stage"]))
            elif command["cmd"] == "tls":
                contexts = {name: server_context(*command[name]) for name in ("good", "bad")}
                loop.call_soon_threadsafe(handler.tls_contexts.update, contexts)
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except (ValueError, KeyError, TypeError, ssl.SSLError) as exc:
            recorder.emit("error", message=f"bad command {line.strip()!r}: {exc}")
            continue
        # The ack is queued behind the change on the loop, so once the harness reads it the
        # behaviour applies to every later SMTP command.
        loop.call_soon_threadsafe(functools.partial(recorder.emit, "ack", seq=seq))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.sites.server", description=__doc__)
    parser.add_argument("--name", required=True, help="site name used in events")
    parser.add_argument("--listen", required=True, help="HOST:PORT to listen on (loopback)")
    parser.add_argument(
        "--acceptors", type=int, default=1, help="servers on the address, one process each"
    )
    parser.add_argument("--acceptor", default=None, help=argparse.SUPPRESS)  # one of them
    args = parser.parse_args(argv)
    if args.acceptors > 1:
        from harness.sites.acceptors import relay

        return relay(args.name, args.listen, args.acceptors)
    host, _, port = args.listen.rpartition(":")

    recorder = Recorder(args.name)
    handler = SiteHandler(recorder, f"{args.acceptor}." if args.acceptor else "")
    controller = SiteController(
        handler, hostname=host, port=int(port), server_hostname=args.name, ready_timeout=10
    )
    controller.shared = args.acceptor is not None
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
