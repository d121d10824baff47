"""A stand-in Asterisk for load tests: speaks just enough AMI for the robot's dialer.

It accepts any Login, answers ``Originate`` (``Async: true``) with ``Response: Success`` and
hands the call to a callback (the simulated customers), which later reports how the call went
through :meth:`FakeAsterisk.originate_response` and :meth:`FakeAsterisk.hangup`.

AMI facts mirrored here (Asterisk 22, see ``robot.adapters.ami.originator``): the banner line
``Asterisk Call Manager/<version>``; ``OriginateResponse`` carries the Originate's ActionID, a
``Reason`` (4 answered) and the channel's ``Uniqueid`` (the Originate's ``ChannelId``); a
``Hangup`` event with ``Uniqueid`` and a Q.850 ``Cause`` goes to every connected session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from robot.adapters.ami.codec import AmiMessage, AmiParser

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


@dataclass
class OriginatedCall:
    """One Originate as the fake Asterisk received it."""

    action_id: str
    channel: str
    channel_id: str  # the robot's call id
    variables: dict[str, str]
    session: _AmiSession
    at: float  # event-loop time
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return self.variables.get("ORDER_ID", "")


def _event(name: str, pairs: list[tuple[str, str]]) -> bytes:
    lines = [f"Event: {name}", "Privilege: call,all", *(f"{k}: {v}" for k, v in pairs)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _AmiSession(asyncio.Protocol):
    def __init__(self, server: FakeAsterisk) -> None:
        self.server = server
        self.parser = AmiParser()
        self.parser.banner = ""  # clients send no banner
        self.transport: asyncio.Transport | None = None
        self.logged_in = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(BANNER)
        self.server.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        self.transport = None

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        for msg in self.parser.feed(data):
            self._action(msg)

    def _respond(self, msg: AmiMessage, response: str, message: str) -> None:
        aid = msg.action_id or ""
        self.send(f"Response: {response}\r\nActionID: {aid}\r\nMessage: {message}\r\n\r\n".encode())

    def _action(self, msg: AmiMessage) -> None:
        action = (msg.get("Action") or "").lower()
        if action == "login":
            self.logged_in = True
            self._respond(msg, "Success", "Authentication accepted")
        elif not self.logged_in:
            self._respond(msg, "Error", "Permission denied")
        elif action == "originate":
            variables = dict(v.partition("=")[::2] for v in msg.get_all("Variable"))
            call = OriginatedCall(
                action_id=msg.action_id or "",
                channel=msg.get("Channel") or "",
                channel_id=msg.get("ChannelId") or msg.action_id or "",
                variables=variables,
                session=self,
                at=asyncio.get_running_loop().time(),
                fields=msg.as_dict(),
            )
            self._respond(msg, "Success", "Originate successfully queued")
            self.server.originated(call)
        elif action == "logoff":
            self._respond(msg, "Goodbye", "Thanks for all the fish.")
            if self.transport is not None:
                self.transport.close()
        else:
            self._respond(msg, "Success", "")


class FakeAsterisk:
    """An AMI server on ``host:port`` that turns Originates into ``on_originate`` calls."""

    def __init__(
        self,
        host: str,
        port: int,
        on_originate: Callable[[OriginatedCall], None],
        *,
        name: str = "fake",
    ) -> None:
        self.host, self.port, self.name = host, port, name
        self.on_originate = on_originate
        self.sessions: set[_AmiSession] = set()
        self.calls: dict[str, OriginatedCall] = {}
        self.originates_by_order: dict[str, int] = {}
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _AmiSession(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for s in list(self.sessions):
                if s.transport is not None:
                    s.transport.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def originated(self, call: OriginatedCall) -> None:
        self.calls[call.channel_id] = call
        oid = call.order_id
        self.originates_by_order[oid] = self.originates_by_order.get(oid, 0) + 1
        try:
            self.on_originate(call)
        except Exception:
            log.exception("fake asterisk: originate handler failed for %s", call.channel_id)

    def originate_response(self, call: OriginatedCall, *, answered: bool, reason: int) -> None:
        call.session.send(
            _event(
                "OriginateResponse",
                [
                    ("ActionID", call.action_id),
                    ("Response", "Success" if answered else "Failure"),
                    ("Channel", call.channel),
                    ("Context", call.fields.get("Context", "")),
                    ("Exten", call.fields.get("Exten", "s")),
                    ("Reason", str(reason)),
                    ("Uniqueid", call.channel_id),
                ],
            )
        )

    def hangup(self, call_id: str, cause: int = 16, cause_txt: str = "Normal Clearing") -> None:
        call = self.calls.pop(call_id, None)
        channel = call.channel if call else ""
        data = _event(
            "Hangup",
            [
                ("Channel", channel),
                ("Uniqueid", call_id),
                ("Cause", str(cause)),
                ("Cause-txt", cause_txt),
            ],
        )
        for s in list(self.sessions):
            s.send(data)
