"""The dialer: claims due orders, admits them through the shared limits, keeps their leases
and runs one :class:`~robot.engine.call_run.CallRun` per call; writes what each run returns.

Capacity is a cap on concurrent calls for this worker (its own resources); pause and the
installation's, trunks' and shops' limits are the admission gate's (``ports.CallAdmission``,
one Redis script), asked before an order is claimed and, for its shop, right after. Claiming is
atomic in the store, so any number of workers can share one Redis; a lease (renewed while the
call lives) lets another worker reschedule the order if this one dies. A lease the store says
is no longer ours (``renew_lease`` returns False) ends the call: another worker may be calling
the same customer.

Results the store cannot take yet are kept (``engine/results.py``) and written before this
worker claims anything and before its lease reaper runs (``settle_before_reap``, which also
renews the leases of live calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from robot.core.machine_kind import MachineMessage
from robot.core.models import Order
from robot.core.purposes import Purpose, purpose_for
from robot.core.records import OrderRecord
from robot.engine.call_features import CallFeatures
from robot.engine.call_run import CallResult, CallRun, RunEnd
from robot.engine.calls import CallTracker, LiveCall
from robot.engine.control import DialerControl
from robot.engine.policy_gate import PolicyGate, permissive_policy
from robot.engine.results import KeptResults
from robot.engine.session import SessionTiming
from robot.ports import (
    Admitted,
    CallAdmission,
    FinishJournal,
    OrderStore,
    Originator,
    PromptSource,
    Recognizer,
    ShopLookup,
)

log = logging.getLogger(__name__)

IDLE_MAX_S = 5.0  # longest sleep with nothing due: covers a wakeup lost in a Redis restart


@dataclass(kw_only=True)
class DialerConfig:
    # The fields without a default are settings (robot/config.py's DialerSettings); the
    # service builds this from them (robot.service.dialer_config), so their defaults live
    # in one place.
    worker_id: str
    dial_template: str
    caller_id: str
    ring_timeout_s: float
    # This worker's own capacity (how many calls its process runs at once), not an admission
    # rule: pause and the installation's and shops' limits are the admission gate's
    # (ports.CallAdmission); nobody changes this at run time.
    max_concurrent_calls: int
    lease_s: float
    media_grace_s: float = 15.0  # after the ring timeout, how long to wait for any answer
    timing: SessionTiming
    max_attempts: int = 1
    # host:port Asterisk reaches our AudioSocket at, sent with each call (many workers); None:
    # the dialplan's global DOZVON_AUDIOSOCKET.
    audiosocket_advertise: str | None = None
    amd: bool  # answering-machine detection in the dialplan (DOZVON_AMD=yes)
    max_reprompts: int  # the question again in other words, after silence or noise
    announce_recording: bool  # "this call is recorded" before the order
    machine_message: MachineMessage  # which machines hear a sentence
    operator_target: str | None  # Dial() string for "operator" (DOZVON_OPERATOR)
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
        media_address: Callable[[], str | None] | None = None,
    ) -> None:
        # The call policy, asked before every dial and after every call; none configured: any
        # hour, config.max_attempts calls.
        self.gate = gate or PolicyGate(permissive_policy(config.max_attempts))
        self.admission = admission  # the shared admission gate; None: only our own capacity
        self.control = control  # run-time controls read for this worker's heartbeat
        self.features = features or CallFeatures()  # recording, transfer, callback hints
        self.store = store
        self.originator = originator
        self.tracker = tracker
        self.prompts = prompts
        self.recognizer = recognizer
        self.is_speech_factory = is_speech_factory
        self.config = config
        self.clock = clock
        self._stopping = False
        self._stop_requested = asyncio.Event()  # ends an idle wait at once on drain
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        self.journal = journal
        self.results = KeptResults(store, journal)
        # Where Asterisk reaches this worker's AudioSocket, asked at each call (the service
        # knows it once its media server is listening); None: config.audiosocket_advertise.
        self._media_address = media_address

    def audiosocket_address(self) -> str | None:
        """The host:port sent with each call (DOZVON_AUDIOSOCKET), or None: the dialplan's."""
        if self._media_address is not None:
            return self._media_address()
        return self.config.audiosocket_advertise

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
                if self.results and not await self.results.flush():
                    # Results the store has not taken yet come first: never claim (maybe the
                    # very order we hold an answer for) before they are written.
                    await self._wait_for_work(1.0)
                    continue
                if self.control is not None:
                    await self.control.turned(self)
                if self.active >= self.config.max_concurrent_calls:
                    await self._wait_for_slot(1.0)
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
                    await self.release_slot(call_id, placed=False)
                    await self._wait_for_work(1.0)
                    continue
                if record is None:
                    await self.release_slot(call_id, placed=False)
                    await self._wait_for_work(await self._idle_wait_s())
                    continue
                if not await self._admit_shop(record, call_id):
                    continue
                task = asyncio.create_task(
                    self._call(record, call_id, route), name=f"call-{record.order.order_id}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._call_done)
        finally:
            for helper in (renewer, beat):
                if helper is not None:
                    helper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await helper

    async def _wait_for_slot(self, timeout_s: float) -> None:
        self._slot_free.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_free.wait(), timeout_s)

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
        await self._wait_for_slot(decision.retry_after_s if decision else 1.0)
        return None

    async def _admit_shop(self, record: OrderRecord, call_id: str) -> bool:
        """The claimed order's shop limits. A refusal gives the claim back, due again after
        the refusal's wait (not an attempt), and the loop goes on at once: other shops' orders
        are not held back."""
        if self.admission is None:
            return True
        order, now = record.order, self.clock()
        try:
            refused = await self.admission.admit_shop(call_id, order.shop_name)
        except Exception as e:  # like a failed admission: ask again in a second
            log.warning("call admission for shop %r failed: %r", order.shop_name, e)
            refused, wait_s, why = None, 1.0, f"admission failed: {e!r}"
        else:
            if refused is None:
                return True
            wait_s, why = refused.retry_after_s, f"shop {order.shop_name}: {refused.reason.value}"
        await self.release_slot(call_id, placed=False)
        try:
            await self.store.release_claim(
                order.order_id, self.config.worker_id, now, now + timedelta(seconds=wait_s),
                reason=f"not dialed: {why}",
            )  # fmt: skip
        except Exception as e:  # the lease expires and the order comes back
            log.warning("order %s: could not give the claim back: %r", order.order_id, e)
        log.info("order %s not dialed now: %s", order.order_id, why)
        return False

    async def release_slot(self, call_id: str, *, placed: bool) -> None:
        """Give the call's admission slot back (``placed=False``: with its CPS tokens)."""
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
        if self.results and not await self.results.flush():
            log.error("stopping with %d call result(s) not in the store: kept in the journal "
                      "for the next start", len(self.results))  # fmt: skip

    # -- one call --------------------------------------------------------------------------------

    async def _call(
        self, record: OrderRecord, call_id: str | None = None, route: Admitted | None = None
    ) -> None:
        run = CallRun(self, record, call_id or str(uuid.uuid4()), route or Admitted())
        await self._record(await run.run())

    async def _record(self, result: CallResult) -> None:
        """Write what a call's run returned (the run has released its slot already)."""
        if result.end in (RunEnd.NOT_DIALED, RunEnd.NOT_PLACED):
            return  # the run gave the claim back or ended the order itself
        assert result.call is not None
        if result.finish is not None:
            await self.results.finish(result.finish)
        self.tracker.finished(result.call)

    def channel_for(self, order: Order, dial_template: str | None = None) -> str:
        template = dial_template or self.config.dial_template
        return template.format(number=order.phone, digits=order.phone.lstrip("+"))

    # -- results the store could not take ------------------------------------------------------

    @property
    def unsaved_results(self) -> int:
        return len(self.results)

    async def restore_finishes(self) -> int:
        """Load the journal's pending results (a restart during a store outage) and write
        them; call before the first dial. Returns how many were pending."""
        return await self.results.restore()

    async def flush_finishes(self) -> bool:
        """Write kept results to the store, oldest first; True when none is left."""
        return await self.results.flush()

    # -- leases ----------------------------------------------------------------------------------

    async def settle_before_reap(self) -> bool:
        """Run by the lease reaper first: write kept results and renew the leases of live
        calls (both may have lapsed while Redis was away). False: not settled, do not reap."""
        if not await self.results.flush():
            return False
        for live in self.tracker.live():
            try:
                ours = await self.store.renew_lease(
                    live.call.order_id, self.config.worker_id, self.config.lease_s
                )
            except Exception as e:
                log.warning("lease renewal before reaping failed: %r", e)
                return False
            if not ours:
                self._lease_lost(live)
        return True

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.config.lease_s / 3))
            for live in self.tracker.live():
                try:
                    ours = await self.store.renew_lease(
                        live.call.order_id, self.config.worker_id, self.config.lease_s
                    )
                except Exception:  # Redis away: the reaper settles first (settle_before_reap)
                    continue
                if not ours:
                    self._lease_lost(live)

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
        try:
            at = await self.store.next_due_at()
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

    def _lease_lost(self, live: LiveCall) -> None:
        """The store says the order is no longer leased to us (the lease ran out and was
        reaped; another worker may be calling the customer now): end the call."""
        if live.lease_lost or self.tracker.get(live.call.call_id) is not live:
            return  # already handled, or the call ended meanwhile (its lease went with it)
        log.error("order %s call %s: lease lost; hanging up", live.call.order_id,
                  live.call.call_id)  # fmt: skip
        live.lease_lost = True
        if not live.cancelled.is_set():
            live.cancel_reason = "lease lost"
            live.cancelled.set()

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
