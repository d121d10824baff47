"""Live calls of this worker: pairs each call with its AMI result and its AudioSocket media.

The dialer registers a call before it originates. Whichever comes first settles how the call
started: the AudioSocket connection (answered: here is the media) or an OriginateResponse that
says busy/no answer/failed, or the loss of the Asterisk connection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from robot.core.models import CallAttempt, Outcome
from robot.ports import MediaSession, OriginateOutcome

log = logging.getLogger(__name__)

Start = MediaSession | OriginateOutcome


@dataclass
class LiveCall:
    call: CallAttempt
    started: asyncio.Future[Start]
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    answered_by_ami: bool = False
    hungup: asyncio.Event = field(default_factory=asyncio.Event)  # AMI saw the channel end
    asterisk_lost: asyncio.Event = field(default_factory=asyncio.Event)  # AMI connection died
    state: str = "dialing"  # dialing, speaking, listening, closing


class CallTracker:
    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def live(self) -> list[LiveCall]:
        return list(self._calls.values())

    def register(self, call: CallAttempt) -> LiveCall:
        live = LiveCall(call, asyncio.get_running_loop().create_future())
        self._calls[call.call_id] = live
        return live

    def unregister(self, call_id: str) -> None:
        live = self._calls.pop(call_id, None)
        if live is not None:
            live.finished.set()
            if not live.started.done():
                live.started.cancel()

    # CallEventSink (AMI side)
    def originate_result(self, call_id: str, result: OriginateOutcome) -> None:
        live = self._calls.get(call_id)
        if live is None:
            return
        if result.answered:
            live.answered_by_ami = True
            return
        if not live.started.done():
            live.started.set_result(result)

    def asterisk_lost(self, server: str) -> None:
        for live in self._calls.values():
            live.asterisk_lost.set()
            if not live.started.done():
                live.started.set_result(
                    OriginateOutcome(False, Outcome.FAILED, f"lost connection to Asterisk {server}")
                )

    def channel_hungup(self, call_id: str, cause: int, cause_text: str) -> None:
        live = self._calls.get(call_id)
        if live is None:
            return
        log.info("call %s: channel hung up (cause %d %s)", call_id, cause, cause_text)
        if cause != 0:  # 0: Asterisk itself hung up (shutting down), not the caller
            live.hungup.set()

    # MediaHandler (AudioSocket side)
    async def handle_media(self, channel: MediaSession) -> None:
        live = self._calls.get(channel.call_id)
        if live is None or live.started.done():
            log.warning(
                "call %s: AudioSocket connection for no call of ours, hanging up", channel.call_id
            )
            return
        live.started.set_result(channel)
        await live.finished.wait()
