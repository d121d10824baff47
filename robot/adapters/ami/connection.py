"""One AMI connection that logs in, correlates responses, fans out events and reconnects.

We use our own small codec instead of panoramisk: panoramisk 1.4 (last release 2021) turns an
``Async`` Originate into a wait for its ``OriginateResponse`` inside ``send_action``, and its
reconnect path re-sends nothing and tells the caller nothing. We need the opposite: Originate
returns once Asterisk queued the call, OriginateResponse is routed by ActionID to the call, and
a dropped connection is reported at once so calls waiting on it get a definite outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from robot.adapters.ami.codec import AmiMessage, AmiParser, encode_action

log = logging.getLogger(__name__)


class AmiError(Exception):
    """An action failed (``Response: Error``) or the connection is not usable."""


class AmiListener(Protocol):
    def on_ami_event(self, msg: AmiMessage) -> None: ...

    def on_ami_connected(self) -> None: ...

    def on_ami_lost(self) -> None: ...


class AmiConnection:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        events: str = "call,system",
        reconnect_max_s: float = 5.0,
        action_timeout_s: float = 10.0,
        name: str = "default",
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret, self._events = username, secret, events
        self._reconnect_max_s = reconnect_max_s
        self._action_timeout_s = action_timeout_s
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[AmiMessage]] = {}
        self._listeners: list[AmiListener] = []
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.banner: str | None = None
        self.connects = 0  # how many times we logged in; >1 means we reconnected

    def add_listener(self, listener: AmiListener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ami-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._close_writer()

    async def wait_connected(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout_s)
        except TimeoutError:
            raise AmiError(f"AMI {self.host}:{self.port} not connected") from None

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        action_id: str | None = None,
        timeout_s: float | None = None,
    ) -> AmiMessage:
        """Send an action and return its response; raise AmiError on ``Response: Error``."""
        if not self.connected.is_set() or self._writer is None:
            raise AmiError(f"AMI {self.name} is not connected")
        return await self._send(action, fields, action_id, timeout_s)

    async def _send(
        self,
        action: str,
        fields: Mapping[str, str] | Iterable[tuple[str, str]],
        action_id: str | None,
        timeout_s: float | None,
    ) -> AmiMessage:
        writer = self._writer
        if writer is None:
            raise AmiError("AMI connection closed")
        aid = action_id or f"dz-{next(self._ids)}"
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        data = encode_action(action, [*pairs, ("ActionID", aid)])
        fut: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._pending[aid] = fut
        try:
            writer.write(data)
            await writer.drain()
            resp = await asyncio.wait_for(fut, timeout_s or self._action_timeout_s)
        except (ConnectionError, TimeoutError) as e:
            raise AmiError(f"AMI {action} failed: {e!r}") from None
        finally:
            self._pending.pop(aid, None)
        if (resp.response or "").lower() == "error":
            raise AmiError(f"AMI {action}: {resp.get('Message', 'error')}")
        return resp

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._session()
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except (OSError, AmiError, asyncio.IncompleteReadError) as e:
                log.warning("AMI %s %s:%s: %s", self.name, self.host, self.port, e)
            except Exception:
                log.exception("AMI %s: unexpected error", self.name)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max_s)

    async def _session(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        parser = AmiParser()
        reader_task = asyncio.create_task(self._read(reader, parser), name=f"ami-read-{self.name}")
        try:
            await self._send(
                "Login",
                {"Username": self._username, "Secret": self._secret, "Events": self._events},
                None,
                None,
            )
            self.banner = parser.banner
            self.connects += 1
            self.connected.set()
            log.info("AMI %s connected to %s:%s (%s)", self.name, self.host, self.port, self.banner)
            self._notify("on_ami_connected")
            await reader_task
        finally:
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task
            was_connected = self.connected.is_set()
            self.connected.clear()
            self._close_writer()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("AMI connection lost"))
            if was_connected:
                log.warning("AMI %s connection lost", self.name)
                self._notify("on_ami_lost")

    async def _read(self, reader: asyncio.StreamReader, parser: AmiParser) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("AMI socket closed by peer")
            for msg in parser.feed(data):
                self._dispatch(msg)

    def _dispatch(self, msg: AmiMessage) -> None:
        if msg.event is None and msg.response is not None:
            fut = self._pending.get(msg.action_id or "")
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if msg.event is not None:
            for listener in self._listeners:
                try:
                    listener.on_ami_event(msg)
                except Exception:
                    log.exception("AMI listener failed on %s", msg.event)

    def _notify(self, method: str) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, method)()
            except Exception:
                log.exception("AMI listener %s failed", method)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
