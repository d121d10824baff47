"""AudioSocket server: one TCP connection per answered call, paired with the call by UUID.

A single pacer task writes the next 20 ms frame to every live connection on each tick (prompt
audio while playing, silence otherwise), so a thousand calls cost one timer, not a thousand.
Inbound frames become :class:`MediaEvent` s on the channel's queue. Garbage is dropped, never
fatal; a peer that stops reading is cut off.

Protocol facts and who may connect (Asterisk 22 ``app_audiosocket``, docs "AudioSocket()"):

- ``AudioSocket(uuid,host:port)`` opens a plain TCP connection, with no authentication or
  TLS, and sends the ``uuid`` argument (it must be a UUID string) as the first frame (kind
  0x01, 16 bytes). That UUID is all that says which call the audio belongs to.
- So two checks, both before any audio flows: the peer's address must be one of the
  configured Asterisk addresses (``allowed_peers``: a :class:`PeerPolicy` of IP addresses,
  networks and host names, the names re-resolved when an unknown address connects, at most
  every ``RESOLVE_EVERY_S``, so a restarted container's new address is let in; None: any
  address), checked before a byte is read; and the UUID must be the
  secret media key of a live call of this worker (``robot.engine.calls``: a random UUID per
  call, passed to Asterisk as the channel variable ``DOZVON_MEDIA_ID`` at Originate and used
  by the dialplan as the AudioSocket UUID). The public call id is not enough: it is shown in
  the API, the live board and the webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from robot.adapters.audiosocket.codec import (
    FRAME_MS,
    SILENCE_FRAME,
    Frame,
    FrameDecoder,
    Kind,
    encode_audio,
    encode_hangup,
    split_frames,
)
from robot.ports import MediaEvent, MediaKind

log = logging.getLogger(__name__)

UUID_TIMEOUT_S = 5.0
RESOLVE_EVERY_S = 5.0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_peers(addresses: Iterable[str]) -> list[Network]:
    """``["127.0.0.1", "10.0.0.0/24", "::1"]`` -> networks; a bad entry raises ValueError."""
    return [ipaddress.ip_network(a.strip(), strict=False) for a in addresses if a.strip()]


def peer_allowed(host: str | None, allowed: list[Network] | None) -> bool:
    if allowed is None:
        return True
    try:
        ip = ipaddress.ip_address((host or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in allowed)


class PeerPolicy:
    """The addresses Asterisk connects from: fixed networks plus host names resolved lazily."""

    def __init__(self, networks: Iterable[str] = (), hosts: Iterable[str] = ()) -> None:
        self.networks = parse_peers(networks)
        self.hosts = sorted(set(hosts))
        self._resolved: list[Network] = []
        self._resolved_at: float | None = None
        self._resolving = asyncio.Lock()

    async def allows(self, host: str | None) -> bool:
        if peer_allowed(host, self.networks + self._resolved):
            return True
        if not self.hosts:
            return False
        # Calls answered together connect together: one resolves, the others wait for it
        # (else they would see "resolved just now" with nothing resolved yet and be refused).
        async with self._resolving:
            if peer_allowed(host, self.networks + self._resolved):
                return True
            return await self._resolve_and_check(host)

    async def _resolve_and_check(self, host: str | None) -> bool:
        loop = asyncio.get_running_loop()
        if self._resolved_at is not None and loop.time() - self._resolved_at < RESOLVE_EVERY_S:
            return False
        self._resolved_at = loop.time()
        resolved: set[str] = set()
        for name in self.hosts:
            try:
                infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except OSError as e:
                log.warning("AudioSocket: cannot resolve Asterisk host %s: %s", name, e)
                continue
            resolved |= {str(info[4][0]) for info in infos}
        if any(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in resolved):
            resolved |= {"127.0.0.0/8", "::1"}  # a local Asterisk may use any loopback address
        self._resolved = parse_peers(resolved)
        return peer_allowed(host, self.networks + self._resolved)


MAX_WRITE_BUFFER = 256 * 1024  # ~8 s of audio queued means the peer is gone


class MediaChannel:
    """The robot's side of one call's audio."""

    def __init__(self, call_id: str, writer: asyncio.StreamWriter) -> None:
        self.call_id = call_id
        self._writer = writer
        self.events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._frames: deque[bytes] = deque()
        self._done: asyncio.Future[bool] | None = None
        self.frames_sent = 0

    @property
    def playing(self) -> bool:
        return bool(self._frames)

    async def play(self, pcm: bytes) -> bool:
        """Queue prompt audio; return True when it was all sent, False if stopped or closed."""
        self.stop_playback()
        if self.closed.is_set():
            return False
        self._frames.extend(split_frames(pcm))
        self._done = asyncio.get_running_loop().create_future()
        return await self._done

    def stop_playback(self) -> None:
        self._frames.clear()
        self._finish_playback(False)

    def _finish_playback(self, completed: bool) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(completed)
        self._done = None

    def next_frame(self) -> bytes:
        if self._frames:
            frame = self._frames.popleft()
            if not self._frames:
                self._finish_playback(True)
            return frame
        return SILENCE_FRAME

    def tick(self) -> None:
        """Write one frame; called by the pacer every 20 ms."""
        if self.closed.is_set():
            return
        transport = self._writer.transport
        if transport.is_closing():
            self._mark_closed()
            return
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("call %s: AudioSocket peer not reading, closing", self.call_id)
            self.close()
            return
        self._writer.write(encode_audio(self.next_frame()))
        self.frames_sent += 1

    def hangup(self) -> None:
        """Tell Asterisk to end the call, then close the socket."""
        if not self.closed.is_set():
            with contextlib.suppress(Exception):
                self._writer.write(encode_hangup())
        self.close()

    def close(self) -> None:
        self._mark_closed()
        with contextlib.suppress(Exception):
            self._writer.close()

    def _mark_closed(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.stop_playback()


class MediaHandler(Protocol):
    async def handle_media(self, channel: MediaChannel) -> None:
        """Run the call on this channel; return when the robot is done with it."""


class AudioSocketServer:
    def __init__(
        self,
        host: str,
        port: int,
        handler: MediaHandler,
        *,
        allowed_peers: PeerPolicy | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.handler = handler
        self.allowed_peers = allowed_peers  # None: any address (see the module notes)
        self.refused = 0  # connections turned away (address or UUID), for tests and metrics
        self._server: asyncio.Server | None = None
        self._channels: set[MediaChannel] = set()
        self._pacer: asyncio.Task[None] | None = None
        self._conn_tasks: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> int:
        return len(self._channels)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._pacer = asyncio.create_task(self._pace(), name="audiosocket-pacer")
        log.info("AudioSocket listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for ch in list(self._channels):
            ch.hangup()
        for t in list(self._conn_tasks):
            t.cancel()
        if self._conn_tasks:
            await asyncio.gather(*self._conn_tasks, return_exceptions=True)
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        period = FRAME_MS / 1000
        next_t = loop.time()
        while True:
            for ch in list(self._channels):
                ch.tick()
            next_t += period
            delay = next_t - loop.time()
            if delay < -0.2:
                # The loop stalled; do not burst frames to catch up, resync instead.
                next_t = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._conn_tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        peer = writer.get_extra_info("peername")
        host = peer[0] if peer else None
        if self.allowed_peers is not None and not await self.allowed_peers.allows(host):
            self.refused += 1
            log.warning("AudioSocket connection from %s refused: not an Asterisk address", peer)
            writer.close()
            return
        call_id: str | None = None
        pending: list[Frame] = []
        try:
            async with asyncio.timeout(UUID_TIMEOUT_S):
                while call_id is None:
                    data = await reader.read(4096)
                    if not data:
                        return
                    for frame in decoder.feed(data):
                        if call_id is None and frame.kind is Kind.UUID:
                            call_id = frame.uuid
                        elif call_id is not None:
                            pending.append(frame)
        except TimeoutError:
            log.warning("AudioSocket %s: no UUID frame within %.0f s", peer, UUID_TIMEOUT_S)
            writer.close()
            return
        channel = MediaChannel(call_id, writer)
        self._channels.add(channel)
        reader_task = asyncio.create_task(self._read(channel, reader, decoder, pending))
        try:
            await self.handler.handle_media(channel)
            if channel.call_id == call_id:  # not claimed by a live call: refused
                self.refused += 1
        except Exception:
            log.exception("call %s: media handler failed", call_id)
        finally:
            channel.hangup()
            self._channels.discard(channel)
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task

    async def _read(
        self,
        ch: MediaChannel,
        reader: asyncio.StreamReader,
        decoder: FrameDecoder,
        pending: list[Frame],
    ) -> None:
        loop = asyncio.get_running_loop()

        def deliver(frame: Frame) -> bool:
            now = loop.time()
            if frame.kind is Kind.AUDIO:
                ch.events.put_nowait(MediaEvent(MediaKind.AUDIO, now, pcm=frame.payload))
            elif frame.kind is Kind.DTMF:
                ch.events.put_nowait(MediaEvent(MediaKind.DTMF, now, digit=frame.digit))
            elif frame.kind is Kind.HANGUP:
                ch.events.put_nowait(MediaEvent(MediaKind.HANGUP, now))
                return False
            elif frame.kind is Kind.ERROR:
                log.warning("call %s: AudioSocket error frame %s", ch.call_id, frame.payload.hex())
                ch.events.put_nowait(MediaEvent(MediaKind.ERROR, now))
            return True

        try:
            for frame in pending:
                if not deliver(frame):
                    return
            while True:
                try:
                    data = await reader.read(8192)
                except (ConnectionError, OSError):
                    data = b""
                if not data:
                    ch.events.put_nowait(MediaEvent(MediaKind.CLOSED, loop.time()))
                    return
                for frame in decoder.feed(data):
                    if not deliver(frame):
                        return
        finally:
            ch._mark_closed()
