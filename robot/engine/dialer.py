"""The dialer: takes due orders from the store, places calls, runs them, records the outcome.

Capacity is a cap on concurrent calls for this worker. Claiming is atomic in the store, so any
number of workers can share one Redis; a lease (renewed while the call lives) lets another
worker reschedule the order if this one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from robot.core.langpack import get_pack
from robot.core.models import CallAttempt, Order, Outcome
from robot.core.phones import mask_phone
from robot.core.policy import status_after_call
from robot.core.records import OrderRecord
from robot.engine.calls import CallTracker, LiveCall
from robot.engine.session import CallSession, SessionTiming
from robot.ports import (
    MediaSession,
    OrderStore,
    OriginateOutcome,
    OriginateRequest,
    Originator,
    PromptSource,
    Recognizer,
)

log = logging.getLogger(__name__)


@dataclass
class DialerConfig:
    worker_id: str
    dial_template: str = "PJSIP/{number}@trunk"
    caller_id: str = '"Dozvon" <+70000000000>'
    ring_timeout_s: float = 30.0
    max_concurrent_calls: int = 10
    lease_s: float = 300.0
    media_grace_s: float = 15.0  # after the ring timeout, how long to wait for any answer
    timing: SessionTiming = field(default_factory=SessionTiming)
    max_attempts: int = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dialer:
    def __init__(
        self,
        *,
        store: OrderStore,
        originator: Originator,
        tracker: CallTracker,
        prompts: PromptSource,
        recognizer: Recognizer | None,
        is_speech_factory: Callable[[], Callable[[bytes], bool]],
        config: DialerConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.originator = originator
        self.tracker = tracker
        self.prompts = prompts
        self.recognizer = recognizer
        self.is_speech_factory = is_speech_factory
        self.config = config
        self.clock = clock
        self.paused = False
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        """Claim and dial until stopped. Owns the call tasks and the lease renewer."""
        renewer = asyncio.create_task(self._renew_leases(), name="lease-renewer")
        try:
            while not self._stopping:
                if self.paused or self.active >= self.config.max_concurrent_calls:
                    self._slot_free.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_free.wait(), 1.0)
                    continue
                record = await self.store.claim_due(
                    self.clock(), self.config.worker_id, self.config.lease_s
                )
                if record is None:
                    await self.store.wait_for_work(1.0)
                    continue
                task = asyncio.create_task(self._call(record), name=f"call-{record.order.order_id}")
                self._tasks.add(task)
                task.add_done_callback(self._call_done)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    async def drain(self, timeout_s: float | None = None) -> None:
        """Stop claiming new orders and let live calls finish (SIGTERM path)."""
        self._stopping = True
        self._slot_free.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.config.lease_s / 3))
            for live in self.tracker.live():
                with contextlib.suppress(Exception):
                    await self.store.renew_lease(
                        live.call.order_id, self.config.worker_id, self.config.lease_s
                    )

    def channel_for(self, order: Order) -> str:
        return self.config.dial_template.format(number=order.phone, digits=order.phone.lstrip("+"))

    async def _call(self, record: OrderRecord) -> None:
        order = record.order
        now = self.clock()
        call = CallAttempt(
            call_id=str(uuid.uuid4()),
            order_id=order.order_id,
            attempt=record.attempts,
            phone=order.phone,
            language=order.language,
            created_at=now,
        )
        live = self.tracker.register(call)
        outcome, reason, intent_value = Outcome.FAILED, "not started", None
        try:
            outcome, reason, intent_value = await self._place_and_run(record, call, live)
        except Exception as e:  # never leave an order leased without an outcome
            log.exception("call %s: failed", call.call_id)
            outcome, reason = Outcome.FAILED, f"internal error: {e!r}"
        finally:
            self.tracker.unregister(call.call_id)
            forget = getattr(self.originator, "forget", None)
            if forget is not None:
                forget(call.call_id)
        end = self.clock()
        call.ended_at, call.outcome, call.reason, call.intent = end, outcome, reason, intent_value
        status, due = status_after_call(
            outcome, record.attempts, end, max_attempts=self.config.max_attempts
        )
        await self.store.finish_call(call, status, end, reason=reason, due_at=due)
        log.info(
            "order %s call %s: %s (%s) -> order %s",
            order.order_id,
            call.call_id,
            outcome.value,
            reason,
            status.value,
        )

    async def _place_and_run(self, record: OrderRecord, call: CallAttempt, live: LiveCall):
        order = record.order
        req = OriginateRequest(
            call_id=call.call_id,
            order_id=order.order_id,
            channel=self.channel_for(order),
            caller_id=self.config.caller_id,
            timeout_s=self.config.ring_timeout_s,
            variables={"ORDER_LANG": order.language},
        )
        log.info(
            "order %s call %s: dialing %s (attempt %d)",
            order.order_id,
            call.call_id,
            mask_phone(order.phone),
            record.attempts,
        )
        try:
            await self.originator.originate(req)
        except Exception as e:
            return Outcome.FAILED, f"originate refused: {e}", None
        call.originated_at = self.clock()
        if order.received_at is not None and record.attempts == 1:
            call.intake_to_originate_ms = (
                call.originated_at - order.received_at
            ).total_seconds() * 1000
        await self.store.save_call(call)
        try:
            started = await asyncio.wait_for(
                asyncio.shield(live.started), self.config.ring_timeout_s + self.config.media_grace_s
            )
        except TimeoutError:
            return Outcome.FAILED, "no answer and no result from Asterisk", None
        if isinstance(started, OriginateOutcome):
            assert started.outcome is not None
            return started.outcome, started.reason, None
        return await self._converse(order, call, live, started)

    async def _converse(self, order: Order, call: CallAttempt, live: LiveCall, media: MediaSession):
        call.answered_at = self.clock()
        await self.store.save_call(call)
        stream = None
        if self.recognizer is not None and order.language in self.recognizer.languages():
            stream = self.recognizer.open(order.language)
        else:
            log.warning(
                "call %s: no speech model for %s, listening for keys only",
                call.call_id,
                order.language,
            )

        def set_state(state: str) -> None:
            live.state = state

        session = CallSession(
            call_id=call.call_id,
            order=order,
            media=media,
            prompts=self.prompts,
            stream=stream,
            classify=get_pack(order.language).classify,
            is_speech=self.is_speech_factory(),
            today=self._today(order),
            timing=self.config.timing,
            on_state=set_state,
            remote_hangup=live.hungup,
            asterisk_lost=live.asterisk_lost,
        )
        result = await session.run()
        call.transcript = result.transcript
        call.speech_end_to_decision_ms = result.speech_end_to_decision_ms
        return result.finish.outcome, result.finish.reason, result.finish.intent

    def _today(self, order: Order) -> date:
        from zoneinfo import ZoneInfo

        now = self.clock()
        if order.timezone:
            return now.astimezone(ZoneInfo(order.timezone)).date()
        return now.date()
