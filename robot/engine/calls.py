"""Live calls of this worker: pairs each call with its AMI result and its AudioSocket media.

The dialer registers a call before it originates. Whichever comes first settles how the call
started: the AudioSocket connection (answered: here is the media) or an OriginateResponse that
says busy/no answer/failed, or the loss of the Asterisk connection.

Media is paired by a per-call *media key*, not by the call id: the call id is public (API,
webhooks, the live board), so anyone able to reach the AudioSocket port could otherwise open
"the media" of a ringing call and answer it. The key is a random UUID made here when the call
is registered, sent to Asterisk only in the Originate (channel variable ``DOZVON_MEDIA_ID``),
used by the dialplan as the AudioSocket UUID and never stored or shown. A connection whose
UUID is not the key of a live call, or that comes second for the same call, is refused.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from robot.core.models import CallAttempt, Outcome
from robot.ports import CallEvents, CallState, CallStateChange, MediaSession, OriginateOutcome

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
    state: CallState = CallState.DIALING  # dialing, ringing, speaking, listening, closing
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)  # it must end from outside
    cancel_reason: str = ""  # why we hang up on it (order cancelled, updated, lease lost, ...)
    lease_lost: bool = False  # the order's lease is not ours anymore: its status is not either
    # The AudioSocket UUID Asterisk must present for this call (see the module notes).
    media_key: str = field(default_factory=lambda: str(uuid.uuid4()))


class CallTracker:
    def __init__(
        self,
        events: CallEvents | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._by_media_key: dict[str, str] = {}  # media key -> call id
        self.events = events  # live state for the dashboard (robot.adapters.redis_live)
        self.clock = clock

    def __len__(self) -> int:
        return len(self._calls)

    def live(self) -> list[LiveCall]:
        return list(self._calls.values())

    def get(self, call_id: str) -> LiveCall | None:
        return self._calls.get(call_id)

    def register(self, call: CallAttempt) -> LiveCall:
        live = LiveCall(call, asyncio.get_running_loop().create_future())
        self._calls[call.call_id] = live
        self._by_media_key[live.media_key] = call.call_id
        self._publish(call, CallState.DIALING)
        return live

    def set_state(self, call_id: str, state: CallState) -> None:
        """The dialer and the session move a call along."""
        live = self._calls.get(call_id)
        if live is not None and live.state != state:
            live.state = CallState(state)
            self._publish(live.call, live.state)

    def finished(self, call: CallAttempt) -> None:
        """The call's outcome is recorded: it leaves the live board."""
        self._publish(call, CallState.ENDED)

    def _publish(self, call: CallAttempt, state: CallState) -> None:
        if self.events is None:
            return
        self.events.publish(
            CallStateChange(
                call_id=call.call_id,
                order_id=call.order_id,
                state=state,
                at=self.clock(),
                started_at=call.created_at,
                attempt=call.attempt,
                phone=call.phone,
                language=call.language,
                outcome=call.outcome,
                reason=call.reason,
                intake_to_originate_ms=call.intake_to_originate_ms,
                speech_end_to_decision_ms=call.speech_end_to_decision_ms,
                shop_name=call.shop_name,
                purpose=call.purpose,
            )
        )

    def unregister(self, call_id: str) -> None:
        live = self._calls.pop(call_id, None)
        if live is not None:
            self._by_media_key.pop(live.media_key, None)
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
        """The AMI connection to ``server`` dropped: its calls (only those) end as FAILED."""
        for live in self._calls.values():
            if live.call.asterisk != server:
                continue
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
    def media_key(self, call_id: str) -> str | None:
        """The AudioSocket UUID a live call's media must present."""
        live = self._calls.get(call_id)
        return live.media_key if live is not None else None

    async def handle_media(self, channel: MediaSession) -> None:
        """``channel.call_id`` arrives as the UUID the peer presented; a live call's media key
        turns it into that call's id, anything else is refused (the server hangs up)."""
        call_id = self._by_media_key.get(channel.call_id)
        live = self._calls.get(call_id) if call_id else None
        if live is None or live.started.done():
            # The presented UUID is not logged: it may be a guess at someone's key.
            log.warning("AudioSocket connection with no live call's media key: refused")
            return
        channel.call_id = live.call.call_id
        live.started.set_result(channel)
        await live.finished.wait()
