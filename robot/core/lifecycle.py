"""The order's life: which status moves are legal, and the one builder of the CRM's events.

Pure (no I/O, no clock). ``robot.adapters.redis_store`` performs every move and checks each one
here first (:func:`check_move`); nothing else writes an order's status or its outbox.

**Cycles.** An order is called about one thing at a time, its *purpose* (``confirm`` for a new
order; a CRM status event selects another: ``pickup_ready``, ``courier_slot``, ...). A cycle
is the span of calls about one purpose; it ends in exactly one ``order.final``. A new cycle
starts when a status event selects a purpose (also after a final of an earlier purpose) or a
supervisor reopens a final order (``robot.core.reopen``). Each cycle counts its own attempts:
calls with ``attempt`` up to the cycle's start (``cycle_after``) belong to earlier cycles, and
the result of such a call is reported (``call.finished``) but never ends the current cycle.
A cycle that a new purpose supersedes before it ended sends no order.final of its own (the
CRM moved the order on; its calls were reported as call.finished).

**Delivery ids** (the CRM deduplicates on them; :func:`final_delivery_id`):

    <order>:final                 the first cycle's order.final
    <order>:final:r<n>            after the n-th reopening (robot.core.reopen)
    <order>:final:c<k>[:r<n>]     the k-th cycle started by a status event
    <order>:<call id>             call.finished
    <order>:reopened:<n>          order.reopened

The store keeps the delivery id of the last order.final it wrote on the order (``final_sent``)
and writes an order.final only if its id differs (:func:`may_send_final`): a second order.final
for one cycle cannot be written, whichever path asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from robot.core.models import CallAttempt, Order, OrderStatus
from robot.core.records import ResultEvent
from robot.core.reopen import REOPENABLE
from robot.core.utc import as_utc

S = OrderStatus
ACTIVE = frozenset({S.QUEUED, S.CALLING})
FINALS = frozenset(s for s in S if s.is_final)
# Final statuses a call (or the policy judging the calls) ends a cycle in.
CALL_FINALS = FINALS - {S.CANCELLED, S.STOPPED}
# Final statuses after which a new purpose is never called about: the customer asked not to be
# called, or the number does not exist.
NEVER_AGAIN = frozenset({S.DNC, S.INVALID_NUMBER})


class Move(str, Enum):
    """Every way an order's status changes (the store's method that performs it)."""

    INTAKE = "intake"  # add_order
    CLAIM = "claim"  # claim_due: a worker leases a due order
    RELEASE = "release"  # release_claim: given back without a call (not an attempt)
    REAP = "reap"  # reap_expired_leases: the worker vanished
    FINISH = "finish"  # finish_call: a call ended
    FINALIZE = "finalize"  # finalize_claimed: the policy stops a leased order without a call
    CANCEL = "cancel"  # cancel: the shop cancelled it
    UPDATE = "update"  # update_order: changed fields
    RETRY_NOW = "retry_now"  # retry_now: a queued order becomes due now
    REOPEN = "reopen"  # reopen: a supervisor gives a final order more attempts
    STATUS = "status"  # apply_status: a CRM status event


@dataclass(frozen=True)
class Transition:
    move: Move
    old: frozenset[OrderStatus | None]
    new: frozenset[OrderStatus]
    why: str


def _t(
    move: Move, old: Iterable[OrderStatus | None], new: Iterable[OrderStatus], why: str
) -> Transition:
    return Transition(move, frozenset(old), frozenset(new), why)


TRANSITIONS: tuple[Transition, ...] = (
    _t(Move.INTAKE, [None], [S.QUEUED], "a new order waits for its call"),
    _t(Move.INTAKE, [None], [S.DNC], "do-not-call flag or listed phone: never called"),
    _t(Move.CLAIM, [S.QUEUED], [S.CALLING], "due, its purpose matches the CRM status"),
    _t(Move.RELEASE, [S.CALLING], [S.QUEUED], "not dialled now (hours, refused Originate)"),
    _t(Move.REAP, [S.CALLING], [S.QUEUED], "lease expired: the worker was lost"),
    _t(Move.FINISH, [S.CALLING, S.QUEUED], [S.QUEUED], "no conclusive answer: retried later"),
    _t(Move.FINISH, [S.CALLING, S.QUEUED], CALL_FINALS, "the call (or the policy) ends the cycle"),
    _t(Move.FINISH, [S.CALLING], [S.CALLING], "a call of an earlier cycle: only recorded"),
    *(
        _t(Move.FINISH, [s], [s], "ended earlier (cancelled, stopped during the call): kept")
        for s in FINALS
    ),
    _t(Move.FINALIZE, [S.CALLING], CALL_FINALS, "the policy stops a leased order uncalled"),
    _t(Move.CANCEL, ACTIVE, [S.CANCELLED], "the shop cancelled it"),
    _t(Move.UPDATE, [S.QUEUED], [S.QUEUED], "changed fields: due now"),
    _t(Move.UPDATE, [S.CALLING], [S.CALLING], "changed fields: the call is hung up"),
    _t(Move.UPDATE, ACTIVE, [S.DNC], "do_not_call set by an update"),
    _t(Move.RETRY_NOW, [S.QUEUED], [S.QUEUED], "a supervisor: call now"),
    _t(Move.REOPEN, REOPENABLE, [S.QUEUED], "a supervisor grants further attempts"),
    _t(Move.STATUS, ACTIVE, [S.STOPPED], "a CRM status that ends the need for calls"),
    _t(Move.STATUS, [S.QUEUED], [S.QUEUED], "a CRM status selects a purpose: due now"),
    _t(Move.STATUS, [S.CALLING], [S.CALLING], "a new purpose: this call is hung up, then requeued"),
    _t(Move.STATUS, FINALS - NEVER_AGAIN, [S.QUEUED], "a new purpose after an earlier final"),
    *(_t(Move.STATUS, [s], [s], "a status recorded, nothing else changes") for s in S),
)


class IllegalMove(ValueError):
    """A store method was asked for a status change the table does not allow (a bug)."""

    def __init__(self, move: Move, old: OrderStatus | None, new: OrderStatus) -> None:
        was = old.value if old is not None else "(new)"
        super().__init__(f"{move.value}: {was} -> {new.value} is not a legal move")
        self.move, self.old, self.new = move, old, new


def why(move: Move, old: OrderStatus | None, new: OrderStatus) -> str | None:
    """Why the move is legal, or None if it is not."""
    for t in TRANSITIONS:
        if t.move is move and old in t.old and new in t.new:
            return t.why
    return None


def is_legal(move: Move, old: OrderStatus | None, new: OrderStatus) -> bool:
    return why(move, old, new) is not None


def check_move(move: Move, old: OrderStatus | None, new: OrderStatus) -> None:
    """Raise :class:`IllegalMove` unless the table allows ``old -> new`` by ``move``."""
    if not is_legal(move, old, new):
        raise IllegalMove(move, old, new)


def may_requeue_for_purpose(status: OrderStatus) -> bool:
    """Whether a status event's purpose may start a new cycle of an order in ``status``."""
    return status not in NEVER_AGAIN


# -- cycles and delivery ids -------------------------------------------------------------------


def final_delivery_id(order_id: str, reopened: int = 0, cycle: int = 0) -> str:
    """The idempotency key of one cycle's ``order.final``."""
    did = f"{order_id}:final"
    if cycle > 0:
        did += f":c{cycle}"
    if reopened > 0:
        did += f":r{reopened}"
    return did


def may_send_final(final_sent: str | None, delivery_id: str) -> bool:
    """An order.final goes out once per cycle: not if this cycle's one was written already."""
    return final_sent != delivery_id


def of_earlier_cycle(call: CallAttempt, cycle_after: int) -> bool:
    """The call was claimed before the current cycle started (reopening, new purpose)."""
    return call.attempt <= cycle_after


# -- the one builder of result events ----------------------------------------------------------


def _about(order: Order) -> dict[str, Any]:
    """What every event says about the order: where results go (its shop's webhook or its
    own callback URL), the purpose and the CRM status."""
    return {"order_id": order.order_id, "callback_url": order.callback_url,
            "shop_name": order.shop_name, "purpose": order.purpose,
            "crm_status": order.crm_status}  # fmt: skip


def final_details(status: OrderStatus, call: CallAttempt | None) -> dict[str, Any]:
    """What order.final adds for the reply-based endings: the requested change, the fake flag."""
    if status is OrderStatus.CHANGED:
        return {"requested_change": call.requested_change if call is not None else None}
    if status is OrderStatus.NOT_ORDERED:
        return {"suspected_fake": True}
    return {}


def call_finished(
    order: Order,
    call: CallAttempt,
    status: OrderStatus,
    *,
    attempts: int,
    now: datetime,
    reopened: int = 0,
) -> ResultEvent:
    """One call's result, with the order's status after it (not final for this cycle)."""
    return ResultEvent(
        event="call.finished", delivery_id=f"{order.order_id}:{call.call_id}", status=status,
        final=False, call=call, attempts=attempts, occurred_at=as_utc(now), reopened=reopened,
        **_about(order),
    )  # fmt: skip


def order_final(
    order: Order,
    status: OrderStatus,
    *,
    attempts: int,
    history: list[CallAttempt],
    now: datetime,
    reopened: int = 0,
    cycle: int = 0,
    call: CallAttempt | None = None,
) -> ResultEvent:
    """The end of a cycle: its final status and every call of the order, oldest first."""
    return ResultEvent(
        event="order.final", delivery_id=final_delivery_id(order.order_id, reopened, cycle),
        status=status, final=True, call=call, attempts=attempts, history=history,
        occurred_at=as_utc(now), reopened=reopened, **_about(order), **final_details(status, call),
    )  # fmt: skip


def order_reopened(order: Order, *, attempts: int, now: datetime, reopened: int) -> ResultEvent:
    """A supervisor reopened a final order (robot.core.reopen): not final."""
    return ResultEvent(
        event="order.reopened", delivery_id=f"{order.order_id}:reopened:{reopened}",
        status=OrderStatus.QUEUED, final=False, attempts=attempts, occurred_at=as_utc(now),
        reopened=reopened, **_about(order),
    )  # fmt: skip
