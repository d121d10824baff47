"""The dialer: takes due orders from the store, places calls, runs them, records the outcome.

Capacity is a cap on concurrent calls for this worker. Claiming is atomic in the store, so any
number of workers can share one Redis; a lease (renewed while the call lives) lets another
worker reschedule the order if this one dies.

A customer's answer is never lost to a store outage, and never leads to a second call:

- When the dialog decides a conclusive answer (yes, no, do-not-call, operator), the result is
  written to the finish journal (``ports.FinishJournal``, a synced local file) before the
  goodbye plays. When the call ends, ``finish_call`` writes it to the store; if the store is
  unreachable, the complete result is kept in memory and in the journal instead.
- Kept results are written again, oldest first, before this worker claims anything and
  before its lease reaper runs (``settle_before_reap``, which also renews the leases of live
  calls): an order whose lease ran out while Redis was away is settled by its answer, not
  requeued and dialed again. ``finish_call`` is idempotent per call id, so writing a result
  twice (a retry, a replay after a restart) applies it once.
- At start the service replays the journal (``restore_finishes``) before the first dial.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from robot.core.languages import get_pack
from robot.core.machine_kind import MachineMessage
from robot.core.models import CallAttempt, Intent, Order, OrderStatus, Outcome
from robot.core.phones import mask_phone
from robot.core.policy import FINAL_BY_OUTCOME, Action, Decision
from robot.core.purposes import Purpose, purpose_for
from robot.core.records import OrderRecord
from robot.engine.call_features import CallFeatures
from robot.engine.calls import CallTracker, LiveCall
from robot.engine.control import DialerControl
from robot.engine.policy_gate import PolicyGate, permissive_policy
from robot.engine.session import CallSession, SessionTiming
from robot.ports import (
    Admitted,
    CallAdmission,
    FinishJournal,
    MediaSession,
    OrderStore,
    OriginateNotPlaced,
    OriginateOutcome,
    OriginateRequest,
    Originator,
    PendingFinish,
    PromptSource,
    Recognizer,
    ShopLookup,
)

log = logging.getLogger(__name__)

NOT_PLACED_RETRY_S = 1.0  # an order a server refused is due again after this (another server)
IDLE_MAX_S = 5.0  # longest sleep with nothing due: covers a wakeup lost in a Redis restart
HANGUP_TRIES = 40  # hanging up a call whose order changed: tries, HANGUP_RETRY_S apart
HANGUP_RETRY_S = 0.25


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
    # host:port Asterisk reaches our AudioSocket at, sent with each call (many workers); None:
    # the dialplan's global DOZVON_AUDIOSOCKET.
    audiosocket_advertise: str | None = None
    amd: bool = False  # answering-machine detection in the dialplan (DOZVON_AMD=yes)
    max_reprompts: int = 2  # the question again in other words, after silence or noise
    announce_recording: bool = False  # "this call is recorded" before the order
    machine_message: MachineMessage = MachineMessage.ASSISTANT  # which machines hear a sentence
    operator_target: str | None = None  # Dial() string for "operator" (DOZVON_OPERATOR)
    # Per shop (by the order's shop_name): its caller ID and whether its calls start with the
    # recording notice; a shop not listed gets the trunk's caller ID, else caller_id above.
    # The registry (robot.ports.ShopLookup) in the service, read at each call.
    shops: Mapping[str, ShopCallSettings] | ShopLookup = field(default_factory=dict)
    # The purpose of an order's call (robot.core.purposes; a shop's own files over the built-in
    # ones in the service: robot.adapters.purpose_book).
    purposes: Callable[[Order], Purpose] = purpose_for

    def caller_id_for(self, shop_name: str, trunk_caller_id: str | None = None) -> str:
        """The caller ID a shop's call goes out with: the shop's, else the trunk's, else ours."""
        shop = self.shops.get(shop_name)
        return (shop and shop.caller_id) or trunk_caller_id or self.caller_id

    def announce_recording_for(self, shop_name: str) -> bool:
        """Whether a shop's calls start with the recording notice."""
        shop = self.shops.get(shop_name)
        if shop is not None and shop.announce_recording is not None:
            return shop.announce_recording
        return self.announce_recording


@dataclass(frozen=True)
class ShopCallSettings:
    caller_id: str | None = None
    announce_recording: bool | None = None  # None: the dialer's announce_recording


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
        control: DialerControl | None = None,
        features: CallFeatures | None = None,
        admission: CallAdmission | None = None,
        gate: PolicyGate | None = None,
        journal: FinishJournal | None = None,
    ) -> None:
        # The call policy, asked before every dial and after every call; none configured: any
        # hour, config.max_attempts calls.
        self.gate = gate or PolicyGate(permissive_policy(config.max_attempts))
        self.admission = admission  # capacity shared by all workers; None: only our own cap
        self.control = control  # run-time pause / limits from the dashboard
        self.features = features or CallFeatures()  # recording, transfer, callback hints
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
        self._stop_requested = asyncio.Event()  # ends an idle wait at once on drain
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        self.journal = journal  # None: results the store refuses are kept in memory only
        self._unsaved: dict[str, PendingFinish] = {}  # call id -> result not in the store yet
        self._journaled: set[str] = set()  # call ids with a pending line in the journal
        self._flush_lock = asyncio.Lock()

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        """Claim and dial until stopped. Owns the call tasks and the lease renewer."""
        renewer = asyncio.create_task(self._renew_leases(), name="lease-renewer")
        beat = (
            asyncio.create_task(self.control.heartbeat(self), name="worker-heartbeat")
            if self.control is not None
            else None
        )
        try:
            while not self._stopping:
                if self._unsaved and not await self.flush_finishes():
                    # Results the store has not taken yet come first: never claim (maybe the
                    # very order we hold an answer for) before they are written.
                    await self._wait_for_work(1.0)
                    continue
                if self.control is not None and not await self.control.ready(self):
                    continue
                if self.paused or self.active >= self.config.max_concurrent_calls:
                    self._slot_free.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_free.wait(), 1.0)
                    continue
                call_id = str(uuid.uuid4())
                route = await self._admit(call_id)
                if route is None:
                    continue
                try:
                    record = await self.store.claim_due(
                        self.clock(), self.config.worker_id, self.config.lease_s
                    )
                except Exception as e:  # Redis away longer than its client's retries
                    log.warning("claiming failed, retrying in 1 s: %r", e)
                    await self._release(call_id, placed=False)
                    await self._wait_for_work(1.0)
                    continue
                if record is None:
                    await self._release(call_id, placed=False)
                    await self._wait_for_work(await self._idle_wait_s())
                    continue
                task = asyncio.create_task(
                    self._call(record, call_id, route), name=f"call-{record.order.order_id}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._call_done)
        finally:
            for own in (renewer, beat):
                if own is not None:
                    own.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await own

    async def _admit(self, call_id: str) -> Admitted | None:
        """A slot in the shared limits (waiting out a refusal first), or None: ask again."""
        if self.admission is None:
            return Admitted()
        try:
            decision = await self.admission.admit(call_id)
        except Exception as e:
            log.warning("call admission failed: %r", e)
            decision = None
        if isinstance(decision, Admitted):
            return decision
        self._slot_free.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._slot_free.wait(), decision.retry_after_s if decision else 1.0
            )
        return None

    async def _release(self, call_id: str, *, placed: bool) -> None:
        if self.admission is None:
            return
        try:
            await self.admission.release(call_id, placed=placed)
        except Exception as e:  # the slot expires on its own without heartbeats
            log.warning("call %s: releasing its slot failed: %r", call_id, e)

    def _call_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    async def drain(self, timeout_s: float | None = None) -> None:
        """Stop claiming new orders and let live calls finish (SIGTERM path)."""
        self._stopping = True
        self._stop_requested.set()
        self._slot_free.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        if self._unsaved and not await self.flush_finishes():
            log.error("stopping with %d call result(s) not in the store: kept in the journal "
                      "for the next start", len(self._unsaved))  # fmt: skip

    # -- results the store could not take ------------------------------------------------------

    @property
    def unsaved_results(self) -> int:
        return len(self._unsaved)

    async def restore_finishes(self) -> int:
        """Load the journal's pending results (a restart during a store outage) and write
        them; call before the first dial. Returns how many were pending."""
        if self.journal is None:
            return 0
        pending = await asyncio.to_thread(self.journal.pending)
        for finish in pending:
            self._unsaved[finish.call.call_id] = finish
            self._journaled.add(finish.call.call_id)
        if pending:
            log.warning("finish journal: %d result(s) from before the restart", len(pending))
            await self.flush_finishes()
        return len(pending)

    async def flush_finishes(self) -> bool:
        """Write kept results to the store, oldest first; True when none is left."""
        async with self._flush_lock:
            for call_id, finish in list(self._unsaved.items()):
                if self._unsaved.get(call_id) is not finish:
                    continue  # written meanwhile
                try:
                    await self._apply(finish)
                except LookupError as e:  # the order is gone from the store: nothing to settle
                    log.error("call %s: result dropped, order unknown: %r", call_id, e)
                    await self._forget(call_id)
                except Exception as e:
                    log.warning("%d call result(s) still not in the store: %r",
                                len(self._unsaved), e)  # fmt: skip
                    return False
                else:
                    log.info("order %s call %s: kept result written (%s)",
                             finish.call.order_id, call_id, finish.status.value)  # fmt: skip
            return not self._unsaved

    async def settle_before_reap(self) -> bool:
        """Run by the lease reaper first: write kept results and renew the leases of live
        calls (both may have lapsed while Redis was away). False: not settled, do not reap."""
        if not await self.flush_finishes():
            return False
        for live in self.tracker.live():
            try:
                await self.store.renew_lease(
                    live.call.order_id, self.config.worker_id, self.config.lease_s
                )
            except Exception as e:
                log.warning("lease renewal before reaping failed: %r", e)
                return False
        return True

    async def _finish(self, finish: PendingFinish) -> None:
        """Write a call's result; if the store is unreachable, keep it (memory + journal)."""
        try:
            await self._apply(finish)
            return
        except LookupError as e:
            log.error("call %s: result dropped, order unknown: %r", finish.call.call_id, e)
            await self._forget(finish.call.call_id)
            return
        except Exception as e:
            log.error("order %s call %s: result not stored (%r); kept until the store is back",
                      finish.call.order_id, finish.call.call_id, e)  # fmt: skip
        self._unsaved[finish.call.call_id] = finish
        await self._journal(finish)

    async def _apply(self, finish: PendingFinish) -> None:
        await self.store.finish_call(
            finish.call, finish.status, finish.at, reason=finish.reason, due_at=finish.due_at
        )
        await self._forget(finish.call.call_id)

    async def _forget(self, call_id: str) -> None:
        self._unsaved.pop(call_id, None)
        if self.journal is not None and call_id in self._journaled:
            try:
                await asyncio.to_thread(self.journal.applied, call_id)
                self._journaled.discard(call_id)
            except OSError as e:  # replayed once more at the next start: harmless
                log.warning("finish journal: could not mark call %s applied: %r", call_id, e)

    async def _journal(self, finish: PendingFinish) -> None:
        if self.journal is None:
            return
        try:
            await asyncio.to_thread(self.journal.record, finish)
            self._journaled.add(finish.call.call_id)
        except OSError as e:
            log.critical("call %s: result not journaled (%r): only in memory now",
                         finish.call.call_id, e)  # fmt: skip

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.config.lease_s / 3))
            for live in self.tracker.live():
                with contextlib.suppress(Exception):
                    await self.store.renew_lease(
                        live.call.order_id, self.config.worker_id, self.config.lease_s
                    )

    def channel_for(self, order: Order, dial_template: str | None = None) -> str:
        template = dial_template or self.config.dial_template
        return template.format(number=order.phone, digits=order.phone.lstrip("+"))

    async def _call(
        self, record: OrderRecord, call_id: str | None = None, route: Admitted | None = None
    ) -> None:
        order = record.order
        now = self.clock()
        route = route or Admitted()
        call_id = call_id or str(uuid.uuid4())
        if not await self._may_dial(record, now):
            await self._release(call_id, placed=False)
            return
        call = CallAttempt(
            call_id=call_id,
            order_id=order.order_id,
            attempt=record.attempts,
            phone=order.phone,
            language=order.language,
            asterisk=route.server,
            created_at=now,
            purpose=order.purpose,
        )
        live = self.tracker.register(call)
        enforcer = asyncio.create_task(self._hang_up_when_cancelled(live))
        outcome, reason, intent_value = Outcome.FAILED, "not started", None
        not_placed: OriginateNotPlaced | None = None
        try:
            outcome, reason, intent_value = await self._place_and_run(record, call, live, route)
        except OriginateNotPlaced as e:  # nobody was called: not an attempt
            not_placed = e
        except Exception as e:  # never leave an order leased without an outcome
            log.exception("call %s: failed", call.call_id)
            outcome, reason = Outcome.FAILED, f"internal error: {e!r}"
        finally:
            enforcer.cancel()
            self.tracker.unregister(call.call_id)
            forget = getattr(self.originator, "forget", None)
            if forget is not None:
                forget(call.call_id)
            await self._release(call.call_id, placed=not_placed is None)
        if not_placed is not None:
            await self._give_back_unplaced(record, call, not_placed)
            return
        end = self.clock()
        if live.cancelled.is_set():
            reason = f"{reason}; hung up: {live.cancel_reason}"
        call.ended_at, call.outcome, call.reason, call.intent = end, outcome, reason, intent_value
        if outcome is Outcome.DNC:  # normally already listed before the goodbye; idempotent
            with contextlib.suppress(Exception):
                await self.gate.add_dnc(order, end, call_id=call.call_id)
        history = [c for c in record.calls if c.call_id != call.call_id] + [call]
        decision = await self._after_call(order, history, end)
        status = decision.status if decision.action is Action.STOP else OrderStatus.QUEUED
        assert status is not None
        due = decision.at if decision.action is Action.WAIT else end
        await self._finish(PendingFinish(call, status, end, str(decision.reason), due))
        self.tracker.finished(call)
        log.info(
            "order %s call %s: %s (%s); policy: %s %s",
            order.order_id,
            call.call_id,
            outcome.value,
            reason,
            decision.action.value,
            decision.reason,
        )

    async def _may_dial(self, record: OrderRecord, now: datetime) -> bool:
        """Ask the policy right before dialing an order we just leased. Wait: give the lease
        back (not an attempt) until the policy's time; stop: final without a call."""
        oid = record.order.order_id
        try:
            decision = await self.gate.decide(record.order, record.calls, now)
        except Exception as e:  # no facts (Redis?): never dial blind; the lease expires
            log.warning("order %s: policy check failed, not dialing: %r", oid, e)
            return False
        if decision.action is Action.CALL:
            return True
        try:
            if decision.action is Action.WAIT:
                due = decision.at or now + timedelta(minutes=1)
                release = getattr(self.store, "release_claim", None)
                if release is not None:
                    await release(oid, self.config.worker_id, now, due, reason=decision.reason)
            else:
                assert decision.status is not None
                await self.gate.finalize(
                    oid, self.config.worker_id, decision.status, now, decision.reason
                )
        except Exception as e:  # the lease expires and the order comes back
            log.warning("order %s: could not apply %s: %r", oid, decision.action.value, e)
        log.info("order %s not dialed: %s", oid, decision.reason)
        return False

    async def _give_back_unplaced(
        self, record: OrderRecord, call: CallAttempt, why: OriginateNotPlaced
    ) -> None:
        """The server refused the Originate before dialing (shutting down, AMI gone): the order
        goes back to the queue, due in a moment, without the attempt, the call record or the
        per-phone count; the next claim is routed to a server that is up."""
        order, now = record.order, self.clock()
        reason = f"not dialed: {why}"
        try:
            await self.gate.forget_call(order, call.call_id)
            release = getattr(self.store, "release_claim", None)
            if release is not None:
                await release(order.order_id, self.config.worker_id, now,
                              now + timedelta(seconds=NOT_PLACED_RETRY_S), reason=reason,
                              unplaced_call=call.call_id)  # fmt: skip
        except Exception as e:  # the lease expires and the order comes back (counted, then)
            log.warning("order %s: could not give back the unplaced call: %r", order.order_id, e)
        self.tracker.finished(call)
        log.info("order %s call %s: %s; back to the queue, attempt not counted",
                 order.order_id, call.call_id, why)  # fmt: skip

    async def _after_call(
        self, order: Order, history: list[CallAttempt], end: datetime
    ) -> Decision:
        try:
            return await self.gate.decide(order, history, end)
        except Exception as e:  # Redis trouble: conclusive answers still end the order
            outcome = history[-1].outcome or Outcome.FAILED
            if outcome in FINAL_BY_OUTCOME:
                return Decision(Action.STOP, None, outcome.value, FINAL_BY_OUTCOME[outcome])
            return Decision(
                Action.WAIT, end + timedelta(minutes=5), f"policy check failed ({e!r}): retry"
            )

    async def _wait_for_work(self, timeout_s: float) -> None:
        """The store's wait (intake or requeue anywhere wakes it), cut short by drain."""
        work = asyncio.ensure_future(self.store.wait_for_work(timeout_s))
        stop = asyncio.ensure_future(self._stop_requested.wait())
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in (work, stop):
            task.cancel()
        await asyncio.gather(work, stop, return_exceptions=True)

    async def _idle_wait_s(self) -> float:
        """Nothing to claim: sleep until the next order is due (a wakeup from intake or a
        requeue ends the sleep earlier), at most IDLE_MAX_S."""
        next_due_at = getattr(self.store, "next_due_at", None)
        if next_due_at is None:
            return 1.0
        try:
            at: datetime | None = await next_due_at()
        except Exception:
            return 1.0
        if at is None:
            return IDLE_MAX_S
        delta = (at - self.clock()).total_seconds()
        if delta <= 0:  # due but skipped: its phone has a call in flight
            return 1.0
        return min(delta, IDLE_MAX_S)

    # -- hanging up calls whose order changed ----------------------------------------------------

    async def hang_up_order(self, order_id: str, reason: str) -> int:
        """Hang up this worker's live calls of ``order_id`` (cancelled, updated, ...)."""
        n = 0
        for live in self.tracker.live():
            if live.call.order_id == order_id and not live.cancelled.is_set():
                log.info("order %s call %s: hanging up: %s", order_id, live.call.call_id, reason)
                live.cancel_reason = reason
                live.cancelled.set()
                n += 1
        return n

    async def check_live_orders(self) -> None:
        """Hang up live calls whose order went final meanwhile (a hangup request may have been
        lost with a Redis restart). Run periodically by the housekeeping scheduler."""
        for live in self.tracker.live():
            if live.cancelled.is_set():
                continue
            rec = await self.store.get_order(live.call.order_id)
            if rec is not None and rec.status.is_final:
                why = f"order {rec.status.value}" + (f": {rec.status_reason}" if rec.status_reason
                                                     else "")  # fmt: skip
                await self.hang_up_order(live.call.order_id, why)

    async def _hang_up_when_cancelled(self, live: LiveCall) -> None:
        await live.cancelled.wait()
        hangup = getattr(self.originator, "hangup", None)
        for _ in range(HANGUP_TRIES):
            started = live.started.result() if live.started.done() and not \
                live.started.cancelled() else None  # fmt: skip
            if isinstance(started, OriginateOutcome):
                return  # it never connected; nothing to hang up
            if started is not None:
                started.hangup()  # answered: closing the AudioSocket ends the call too
            if hangup is not None:
                try:
                    if await hangup(live.call.call_id, live.call.asterisk):
                        return
                except Exception as e:
                    log.debug("call %s: hangup not done yet: %r", live.call.call_id, e)
            elif started is not None:
                return
            await asyncio.sleep(HANGUP_RETRY_S)  # the channel may not exist yet
        log.warning("call %s: could not hang up (%s)", live.call.call_id, live.cancel_reason)

    async def _place_and_run(
        self, record: OrderRecord, call: CallAttempt, live: LiveCall, route: Admitted
    ) -> tuple[Outcome, str, Intent | None]:
        order = record.order
        # The AudioSocket UUID: a secret per call, never the public call id (engine/calls.py).
        variables = {"ORDER_LANG": order.language, "DOZVON_MEDIA_ID": live.media_key}
        if self.config.audiosocket_advertise:
            variables["DOZVON_AUDIOSOCKET"] = self.config.audiosocket_advertise
        if self.config.operator_target:
            variables["DOZVON_OPERATOR"] = self.config.operator_target
        if self.config.amd:
            variables["DOZVON_AMD"] = "yes"
        req = OriginateRequest(
            call_id=call.call_id,
            order_id=order.order_id,
            channel=self.channel_for(order, route.dial_template),
            caller_id=self.config.caller_id_for(order.shop_name, route.caller_id),
            timeout_s=self.config.ring_timeout_s,
            variables=variables,
            server=route.server,
        )
        log.info(
            "order %s call %s: dialing %s (attempt %d)",
            order.order_id,
            call.call_id,
            mask_phone(order.phone),
            record.attempts,
        )
        # Before the Originate: the per-phone limits count this call, and a worker dying from
        # here on leaves the call in the order's history (counted as failed, not repeated).
        await self.gate.note_call(order, call.call_id, self.clock())
        await self.store.save_call(call)
        try:
            await self.originator.originate(req)
        except OriginateNotPlaced:
            raise
        except Exception as e:
            return Outcome.FAILED, f"originate refused: {e}", None
        call.originated_at = self.clock()
        if order.received_at is not None and record.attempts == 1:
            call.intake_to_originate_ms = (
                call.originated_at - order.received_at
            ).total_seconds() * 1000
        self.tracker.set_state(call.call_id, "ringing")
        await self.store.save_call(call)
        try:
            started = await asyncio.wait_for(
                asyncio.shield(live.started), self.config.ring_timeout_s + self.config.media_grace_s
            )
        except TimeoutError:
            return Outcome.FAILED, "no answer and no result from Asterisk", None
        if isinstance(started, OriginateOutcome):
            assert started.outcome is not None
            if started.back_off_trunk and self.admission is not None:
                try:
                    await self.admission.back_off(route.server)
                except Exception as e:  # the call's outcome stands; the next refusal retries
                    log.warning("call %s: trunk back-off failed: %r", call.call_id, e)
            return started.outcome, started.reason, None
        return await self._converse(order, call, live, started)

    async def _converse(
        self, order: Order, call: CallAttempt, live: LiveCall, media: MediaSession
    ) -> tuple[Outcome, str, Intent | None]:
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
            self.tracker.set_state(call.call_id, state)

        media = self.features.wrap(media)
        session = CallSession(
            call_id=call.call_id,
            order=order,
            media=media,
            prompts=self.prompts,
            stream=stream,
            understand=get_pack(order.language).understand,
            is_speech=self.is_speech_factory(),
            today=self._today(order),
            timing=self.config.timing,
            on_state=set_state,
            remote_hangup=live.hungup,
            asterisk_lost=live.asterisk_lost,
            on_decided=lambda outcome: self._on_decided(order, call, outcome),
            max_reprompts=self.config.max_reprompts,
            announce_recording=self.config.announce_recording_for(order.shop_name),
            operator_available=self.features.transfer is not None,
            machine_message=self.config.machine_message,
            purpose=self.config.purposes(order),
        )
        result = await session.run()
        if stream is not None:  # recognizer load, for capacity planning (robot bench)
            call.asr_audio_s = getattr(stream, "decoded_audio_s", None)
            call.asr_decode_s = getattr(stream, "decode_s", None)
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        call.transcript = result.transcript
        if result.finish.change is not None:
            call.requested_change = result.finish.change.as_json()
        call.speech_end_to_decision_ms = result.speech_end_to_decision_ms
        reason = await self.features.finish(call, media, result.finish, self.clock())
        return result.finish.outcome, reason, result.finish.intent

    async def _on_decided(self, order: Order, call: CallAttempt, outcome: Outcome) -> None:
        """The dialog decided; its goodbye plays after this returns. A do-not-call request is
        written to the list first, so we never say "we won't call" before it is stored. A
        conclusive answer goes to the finish journal first: it survives a store outage and a
        restart from here on (the complete result replaces it when the call ends)."""
        if outcome in FINAL_BY_OUTCOME and self.journal is not None:
            now = self.clock()
            at_goodbye = {"ended_at": now, "outcome": outcome, "reason": outcome.value}
            answered = call.model_copy(update=at_goodbye)
            await self._journal(
                PendingFinish(answered, FINAL_BY_OUTCOME[outcome], now, outcome.value)
            )
        if outcome is Outcome.DNC:
            try:
                await self.gate.add_dnc(order, self.clock(), call_id=call.call_id)
            except Exception as e:  # retried after the call; the goodbye must not wait forever
                log.error("call %s: do-not-call not stored before the goodbye: %r",
                          call.call_id, e)  # fmt: skip

    def _today(self, order: Order) -> date:
        from zoneinfo import ZoneInfo

        now = self.clock()
        if order.timezone:
            return now.astimezone(ZoneInfo(order.timezone)).date()
        return now.date()
