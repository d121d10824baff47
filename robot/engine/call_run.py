"""One call's run: from a claimed, admitted order to its typed result.

The dialer (``engine/dialer.py``) claims an order, holds its lease and its admission slot, and
writes what this module returns; everything in between belongs to one :class:`CallRun`:

1. the policy, asked right before dialing (wait: the claim goes back; stop: final, no call);
2. the Originate, and waiting for how the call started (AMI result or AudioSocket media);
3. the conversation (``engine/session.py``), with the do-not-call list and the finish journal
   written the moment the dialog decides, before the goodbye plays;
4. hanging up when the call must end from outside: its order changed (cancelled, updated,
   stopped by a status) or its lease was lost (another worker may hold the order now);
5. the policy's decision after the call: final, or queued again and when.

It returns a :class:`CallResult`; the run itself writes nothing of the order's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from robot.core.languages import get_pack
from robot.core.models import CallAttempt, Intent, OrderStatus, Outcome
from robot.core.phones import mask_phone
from robot.core.policy import FINAL_BY_OUTCOME, Action, Decision
from robot.core.records import OrderRecord
from robot.engine.calls import LiveCall
from robot.engine.session import CallSession
from robot.ports import (
    Admitted,
    CallState,
    MediaSession,
    OriginateNotPlaced,
    OriginateOutcome,
    OriginateRequest,
    PendingFinish,
)

if TYPE_CHECKING:
    from robot.engine.dialer import Dialer

log = logging.getLogger(__name__)

NOT_PLACED_RETRY_S = 1.0  # an order a server refused is due again after this (another server)
HANGUP_TRIES = 40  # hanging up a call that must end: tries, HANGUP_RETRY_S apart
HANGUP_RETRY_S = 0.25


class RunEnd(str, Enum):
    """How one call's run ended."""

    NOT_DIALED = "not_dialed"  # the policy said wait or stop (applied already); nobody called
    NOT_PLACED = "not_placed"  # the server refused the Originate: given back, not an attempt
    FINISHED = "finished"  # the call ran; ``finish`` is its result for the store
    LEASE_LOST = "lease_lost"  # the call ran, but the order's lease is not ours anymore


@dataclass(frozen=True)
class CallEnd:
    """How the call itself ended, before the policy looks at it."""

    outcome: Outcome
    reason: str
    intent: Intent | None = None


@dataclass(frozen=True)
class CallResult:
    """What one call's run hands back to the dialer."""

    end: RunEnd
    call: CallAttempt | None = None  # None: NOT_DIALED (no call existed)
    # The result to write (FINISHED; on LEASE_LOST only a conclusive answer, which beats a
    # retry, or a result for an order already final). None: nothing to write for the order.
    finish: PendingFinish | None = None
    decision: Decision | None = None  # the policy after the call (FINISHED, LEASE_LOST)


class CallRun:
    """One call of one claimed order; ``run()`` once."""

    def __init__(self, dialer: Dialer, record: OrderRecord, call_id: str, route: Admitted) -> None:
        self.d = dialer  # the owner: its ports, config, clock and tracker
        self.record = record
        self.order = record.order
        self.call_id = call_id
        self.route = route

    async def run(self) -> CallResult:
        d, order, now = self.d, self.order, self.d.clock()
        if not await self._may_dial(now):
            await d.release_slot(self.call_id, placed=False)
            return CallResult(RunEnd.NOT_DIALED)
        call = CallAttempt(
            call_id=self.call_id,
            order_id=order.order_id,
            attempt=self.record.attempts,
            phone=order.phone,
            language=order.language,
            asterisk=self.route.server,
            created_at=now,
            shop_name=order.shop_name,
            purpose=order.purpose,
        )
        live = d.tracker.register(call)
        enforcer = asyncio.create_task(self._hang_up_when_cancelled(live))
        ended = CallEnd(Outcome.FAILED, "not started")
        not_placed: OriginateNotPlaced | None = None
        try:
            ended = await self._place_and_run(call, live)
        except OriginateNotPlaced as e:  # nobody was called: not an attempt
            not_placed = e
        except Exception as e:  # never leave an order leased without an outcome
            log.exception("call %s: failed", call.call_id)
            ended = CallEnd(Outcome.FAILED, f"internal error: {e!r}")
        finally:
            enforcer.cancel()
            d.tracker.unregister(call.call_id)
            d.originator.forget(call.call_id)
            await d.release_slot(call.call_id, placed=not_placed is None)
        if not_placed is not None:
            await self._give_back_unplaced(call, not_placed)
            return CallResult(RunEnd.NOT_PLACED, call)
        return await self._result(call, live, ended)

    async def _result(self, call: CallAttempt, live: LiveCall, ended: CallEnd) -> CallResult:
        d, order = self.d, self.order
        end = d.clock()
        reason = ended.reason
        if live.cancelled.is_set():
            reason = f"{reason}; hung up: {live.cancel_reason}"
        call.ended_at, call.outcome, call.reason = end, ended.outcome, reason
        call.intent = ended.intent
        if ended.outcome is Outcome.DNC:  # normally already listed before the goodbye
            with contextlib.suppress(Exception):
                await d.gate.add_dnc(order, end, call_id=call.call_id)
        history = [c for c in self.record.calls if c.call_id != call.call_id] + [call]
        decision = await self._after_call(history, end)
        status = decision.status if decision.action is Action.STOP else OrderStatus.QUEUED
        assert status is not None
        due = decision.at if decision.action is Action.WAIT else end
        finish = PendingFinish(call, status, end, str(decision.reason), due)
        log.info(
            "order %s call %s: %s (%s); policy: %s %s",
            order.order_id,
            call.call_id,
            ended.outcome.value,
            reason,
            decision.action.value,
            decision.reason,
        )
        if not live.lease_lost:
            return CallResult(RunEnd.FINISHED, call, finish, decision)
        return CallResult(RunEnd.LEASE_LOST, call, await self._after_lost_lease(finish), decision)

    async def _after_lost_lease(self, finish: PendingFinish) -> PendingFinish | None:
        """Our lease ran out during the call, so another worker may hold the order now: its
        status is not ours to set. A conclusive answer is still written (the store takes it
        from whoever brings it: an answer beats a retry), and so is a result for an order that
        went final meanwhile (the store keeps the final status and reports this call); any
        other result only completes the call's record in the history."""
        call = finish.call
        if call.outcome in FINAL_BY_OUTCOME:
            return finish
        try:
            rec = await self.d.store.get_order(call.order_id)
            if rec is not None and rec.status.is_final:
                return finish
            await self.d.store.save_call(call)
        except Exception as e:  # the record stays as last saved (originated / answered)
            log.warning("call %s: record not completed after the lost lease: %r",
                        call.call_id, e)  # fmt: skip
        log.error("order %s call %s: lease lost during the call; the order's status is left "
                  "to its new holder", call.order_id, call.call_id)  # fmt: skip
        return None

    # -- before dialing ------------------------------------------------------------------------

    async def _may_dial(self, now: datetime) -> bool:
        """Ask the policy right before dialing an order we just leased. Wait: give the lease
        back (not an attempt) until the policy's time; stop: final without a call."""
        d, record = self.d, self.record
        oid = record.order.order_id
        try:
            decision = await d.gate.decide(record.order, record.calls, now)
        except Exception as e:  # no facts (Redis?): never dial blind; the lease expires
            log.warning("order %s: policy check failed, not dialing: %r", oid, e)
            return False
        if decision.action is Action.CALL:
            return True
        try:
            if decision.action is Action.WAIT:
                due = decision.at or now + timedelta(minutes=1)
                await d.store.release_claim(
                    oid, d.config.worker_id, now, due, reason=decision.reason
                )
            else:
                assert decision.status is not None
                status, reason = decision.status, decision.reason
                await d.gate.finalize(oid, d.config.worker_id, status, now, reason)
        except Exception as e:  # the lease expires and the order comes back
            log.warning("order %s: could not apply %s: %r", oid, decision.action.value, e)
        log.info("order %s not dialed: %s", oid, decision.reason)
        return False

    async def _give_back_unplaced(self, call: CallAttempt, why: OriginateNotPlaced) -> None:
        """The server refused the Originate before dialing (shutting down, AMI gone): the order
        goes back to the queue, due in a moment, without the attempt, the call record or the
        per-phone count; the next claim is routed to a server that is up."""
        d, order, now = self.d, self.order, self.d.clock()
        reason = f"not dialed: {why}"
        try:
            await d.gate.forget_call(order, call.call_id)
            await d.store.release_claim(order.order_id, d.config.worker_id, now,
                                        now + timedelta(seconds=NOT_PLACED_RETRY_S),
                                        reason=reason, unplaced_call=call.call_id)  # fmt: skip
        except Exception as e:  # the lease expires and the order comes back (counted, then)
            log.warning("order %s: could not give back the unplaced call: %r", order.order_id, e)
        d.tracker.finished(call)
        log.info("order %s call %s: %s; back to the queue, attempt not counted",
                 order.order_id, call.call_id, why)  # fmt: skip

    async def _after_call(self, history: list[CallAttempt], end: datetime) -> Decision:
        try:
            return await self.d.gate.decide(self.order, history, end)
        except Exception as e:  # Redis trouble: conclusive answers still end the order
            outcome = history[-1].outcome or Outcome.FAILED
            if outcome in FINAL_BY_OUTCOME:
                return Decision(Action.STOP, None, outcome.value, FINAL_BY_OUTCOME[outcome])
            return Decision(
                Action.WAIT, end + timedelta(minutes=5), f"policy check failed ({e!r}): retry"
            )

    # -- hanging up from outside -----------------------------------------------------------------

    async def _hang_up_when_cancelled(self, live: LiveCall) -> None:
        await live.cancelled.wait()
        for _ in range(HANGUP_TRIES):
            started = live.started.result() if live.started.done() and not \
                live.started.cancelled() else None  # fmt: skip
            if isinstance(started, OriginateOutcome):
                return  # it never connected; nothing to hang up
            if started is not None:
                started.hangup()  # answered: closing the AudioSocket ends the call too
            try:
                if await self.d.originator.hangup(live.call.call_id, live.call.asterisk):
                    return
            except Exception as e:
                log.debug("call %s: hangup not done yet: %r", live.call.call_id, e)
            await asyncio.sleep(HANGUP_RETRY_S)  # the channel may not exist yet
        log.warning("call %s: could not hang up (%s)", live.call.call_id, live.cancel_reason)

    # -- the call ------------------------------------------------------------------------------

    async def _place_and_run(self, call: CallAttempt, live: LiveCall) -> CallEnd:
        d, order, route, cfg = self.d, self.order, self.route, self.d.config
        # The AudioSocket UUID: a secret per call, never the public call id (engine/calls.py).
        variables = {"ORDER_LANG": order.language, "DOZVON_MEDIA_ID": live.media_key}
        if advertised := d.audiosocket_address():
            variables["DOZVON_AUDIOSOCKET"] = advertised
        if cfg.operator_target:
            variables["DOZVON_OPERATOR"] = cfg.operator_target
        if cfg.amd:
            variables["DOZVON_AMD"] = "yes"
        req = OriginateRequest(
            call_id=call.call_id,
            order_id=order.order_id,
            channel=d.channel_for(order, route.dial_template),
            caller_id=cfg.caller_id_for(order.shop_name, route.caller_id),
            timeout_s=cfg.ring_timeout_s,
            variables=variables,
            server=route.server,
        )
        log.info(
            "order %s call %s: dialing %s (attempt %d)",
            order.order_id,
            call.call_id,
            mask_phone(order.phone),
            self.record.attempts,
        )
        # Before the Originate: the per-phone limits count this call, and a worker dying from
        # here on leaves the call in the order's history (counted as failed, not repeated).
        await d.gate.note_call(order, call.call_id, d.clock())
        await d.store.save_call(call)
        try:
            await d.originator.originate(req)
        except OriginateNotPlaced:
            raise
        except Exception as e:
            return CallEnd(Outcome.FAILED, f"originate refused: {e}")
        call.originated_at = d.clock()
        if order.received_at is not None and self.record.attempts == 1:
            call.intake_to_originate_ms = (
                call.originated_at - order.received_at
            ).total_seconds() * 1000
        d.tracker.set_state(call.call_id, CallState.RINGING)
        await d.store.save_call(call)
        try:
            started = await asyncio.wait_for(
                asyncio.shield(live.started), cfg.ring_timeout_s + cfg.media_grace_s
            )
        except TimeoutError:
            return CallEnd(Outcome.FAILED, "no answer and no result from Asterisk")
        if isinstance(started, OriginateOutcome):
            assert started.outcome is not None
            if started.back_off_trunk and d.admission is not None:
                try:
                    await d.admission.back_off(route.server)
                except Exception as e:  # the call's outcome stands; the next refusal retries
                    log.warning("call %s: trunk back-off failed: %r", call.call_id, e)
            return CallEnd(started.outcome, started.reason)
        return await self._converse(call, live, started)

    async def _converse(self, call: CallAttempt, live: LiveCall, media: MediaSession) -> CallEnd:
        d, order = self.d, self.order
        call.answered_at = d.clock()
        await d.store.save_call(call)
        stream = None
        if d.recognizer is not None and order.language in d.recognizer.languages():
            stream = d.recognizer.open(order.language)
        else:
            log.warning(
                "call %s: no speech model for %s, listening for keys only",
                call.call_id,
                order.language,
            )

        def set_state(state: CallState) -> None:
            d.tracker.set_state(call.call_id, state)

        media = d.features.wrap(media)
        session = CallSession(
            call_id=call.call_id,
            order=order,
            media=media,
            prompts=d.prompts,
            stream=stream,
            understand=get_pack(order.language).understand,
            is_speech=d.is_speech_factory(),
            today=self._today(),
            timing=d.config.timing,
            on_state=set_state,
            remote_hangup=live.hungup,
            asterisk_lost=live.asterisk_lost,
            on_decided=self._on_decided_for(call),
            max_reprompts=d.config.max_reprompts,
            announce_recording=d.config.announce_recording_for(order.shop_name),
            operator_available=d.features.transfer is not None,
            machine_message=d.config.machine_message,
            purpose=d.config.purposes(order),
        )
        result = await session.run()
        if stream is not None:  # recognizer load, for capacity planning (robot bench)
            call.asr_audio_s = stream.decoded_audio_s
            call.asr_decode_s = stream.decode_s
            stream.close()
        call.transcript = result.transcript
        if result.finish.change is not None:
            call.requested_change = result.finish.change.as_json()
        call.speech_end_to_decision_ms = result.speech_end_to_decision_ms
        reason = await d.features.finish(call, media, result.finish, d.clock())
        return CallEnd(result.finish.outcome, reason, result.finish.intent)

    def _on_decided_for(self, call: CallAttempt) -> Callable[[Outcome], Awaitable[None]]:
        return lambda outcome: self._on_decided(call, outcome)

    async def _on_decided(self, call: CallAttempt, outcome: Outcome) -> None:
        """The dialog decided; its goodbye plays after this returns. A do-not-call request is
        written to the list first, so we never say "we won't call" before it is stored. A
        conclusive answer goes to the finish journal first: it survives a store outage and a
        restart from here on (the complete result replaces it when the call ends)."""
        d = self.d
        if outcome in FINAL_BY_OUTCOME:
            now = d.clock()
            at_goodbye = {"ended_at": now, "outcome": outcome, "reason": outcome.value}
            answered = call.model_copy(update=at_goodbye)
            await d.results.record(
                PendingFinish(answered, FINAL_BY_OUTCOME[outcome], now, outcome.value)
            )
        if outcome is Outcome.DNC:
            try:
                await d.gate.add_dnc(self.order, d.clock(), call_id=call.call_id)
            except Exception as e:  # retried after the call; the goodbye must not wait forever
                log.error("call %s: do-not-call not stored before the goodbye: %r",
                          call.call_id, e)  # fmt: skip

    def _today(self) -> date:
        now = self.d.clock()
        if self.order.timezone:
            return now.astimezone(ZoneInfo(self.order.timezone)).date()
        return now.date()
