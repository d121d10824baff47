"""The seams between the engine and the outside world (Redis, Asterisk, Vosk, the CRM).

The engine depends on these protocols only; adapters implement them and ``robot.testing`` has
small in-memory fakes. Every method the engine calls on an adapter is declared here (none is
probed for with ``getattr``), so mypy checks each adapter and fake against what the engine
really uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.records import OrderRecord
from robot.core.shops import ShopConfig

if TYPE_CHECKING:
    from robot.core.langpack import RequestedChange
    from robot.core.prompts import Prompt
    from robot.core.reopen import Reopening


class ShopLookup(Protocol):
    """The shops of the installation (robot.adapters.shop_registry): read at each call, since
    they change at run time."""

    def get(self, name: str, /) -> ShopConfig | None: ...


class DuplicateOrder(Exception):
    """The order id is already known; the existing record is attached."""

    def __init__(self, record: OrderRecord) -> None:
        super().__init__(record.order.order_id)
        self.record = record


class OrderStore(Protocol):
    async def add_order(self, order: Order, now: datetime) -> OrderRecord:
        """Store a new order and schedule it (atomically). Raise DuplicateOrder if known."""

    async def get_order(self, order_id: str) -> OrderRecord | None: ...

    async def claim_due(self, now: datetime, worker_id: str, lease_s: float) -> OrderRecord | None:
        """Atomically take the earliest due order and lease it to ``worker_id``."""

    async def renew_lease(self, order_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend the lease; False when the order is no longer leased to ``worker_id`` (the
        lease ran out and another worker may hold it now)."""

    async def release_claim(
        self,
        order_id: str,
        worker_id: str,
        now: datetime,
        due_at: datetime,
        *,
        reason: str = "",
        unplaced_call: str = "",
    ) -> bool:
        """Give a leased order back without an attempt: QUEUED, due ``due_at``.
        ``unplaced_call``: a call recorded before its Originate but never placed, removed from
        the history. False if the lease is not ours anymore."""

    async def next_due_at(self) -> datetime | None:
        """When the earliest QUEUED order is due (may be past), or None when none is queued."""

    async def save_call(self, call: CallAttempt) -> None:
        """Write a call attempt as it progresses (originated, answered)."""

    async def finish_call(
        self,
        call: CallAttempt,
        status: OrderStatus,
        now: datetime,
        *,
        reason: str = "",
        due_at: datetime | None = None,
    ) -> None:
        """Record the call's end, set the order's status, release the lease and queue the
        result for the CRM, in one transaction. ``due_at`` reschedules a QUEUED order."""

    async def wait_for_work(self, timeout_s: float) -> None:
        """Return early when new work may be due (intake, requeue), else after timeout."""


@dataclass(frozen=True)
class PendingFinish:
    """A call's result the store has not confirmed yet: the arguments of ``finish_call``."""

    call: CallAttempt
    status: OrderStatus
    at: datetime
    reason: str = ""
    due_at: datetime | None = None


class FinishJournal(Protocol):
    """Where results wait, durably, while the store is unreachable (a local file). Blocking:
    the engine calls these off the event loop."""

    def record(self, finish: PendingFinish) -> None:
        """Keep ``finish`` on disk (synced) until ``applied``; a later record of the same call
        id replaces an earlier one."""

    def applied(self, call_id: str) -> None:
        """The store has this call's result: forget it."""

    def pending(self) -> list[PendingFinish]:
        """Everything recorded and not applied, oldest first (e.g. after a restart)."""


@dataclass(frozen=True)
class OriginateRequest:
    call_id: str
    order_id: str
    channel: str  # e.g. PJSIP/+79161234567@trunk or Local/79161234567@dozvon-customer/n
    caller_id: str
    timeout_s: float
    variables: dict[str, str]
    server: str = "default"  # which Asterisk server places it (see CallAdmission)


@dataclass(frozen=True)
class OriginateOutcome:
    answered: bool
    outcome: Outcome | None  # None when answered: the dialog decides
    reason: str
    back_off_trunk: bool = False  # the trunk refused for capacity: slow its calls down


class OriginateNotPlaced(Exception):
    """The server refused the Originate before any channel existed (it is shutting down, or
    its AMI connection is gone): nobody was called, so the attempt does not count."""

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"Asterisk {server}: {reason}")
        self.server = server
        self.reason = reason


class CallEventSink(Protocol):
    """Where an originator reports how calls started (the engine's call tracker)."""

    def originate_result(self, call_id: str, result: OriginateOutcome) -> None: ...

    def asterisk_lost(self, server: str) -> None: ...

    def channel_hungup(self, call_id: str, cause: int, cause_text: str) -> None:
        """Asterisk hung up the call's channel (AMI Hangup event); the AudioSocket closes
        without a hangup frame, so this tells a caller's hangup from a dead Asterisk."""


@dataclass(frozen=True)
class Trunk:
    """Somewhere calls can go, with its own limits."""

    name: str  # the Asterisk server's name (CallAttempt.asterisk) or a named trunk
    capacity: int | None = None  # concurrent calls it takes; None: no cap
    cps: float = 0.0  # calls per second it accepts; 0: no limit
    burst: int = 1
    dial_template: str | None = None  # how a number becomes a channel there; None: default
    caller_id: str | None = None  # the caller ID its calls go out with; None: the default


@dataclass(frozen=True)
class Admitted:
    """A call may be placed now; its slot is held until ``CallAdmission.release``."""

    server: str = "default"  # the Asterisk server it goes through (CallAttempt.asterisk)
    dial_template: str | None = None  # that server's trunk; None: the dialer's own template
    caller_id: str | None = None  # that trunk's caller ID; None: the dialer's default


class Refusal(str, Enum):
    """Why the admission gate (``adapters/redis_limits``) refused a call, as it says."""

    PAUSED = "paused"  # a supervisor paused dialing for the whole installation
    FULL = "full"  # the installation's concurrent-call cap is reached (max_calls)
    CPS = "cps"  # out of calls-per-second tokens (global, or every free trunk's)
    TRUNKS_FULL = "trunks_full"  # every trunk is at its own cap
    NO_SERVER = "no_server"  # no Asterisk server is up
    SHOP_PAUSED = "shop_paused"  # the order's shop is paused
    SHOP_FULL = "shop_full"  # the order's shop is at its concurrent-call cap
    SHOP_CPS = "shop_cps"  # the order's shop is out of calls-per-second tokens

    @property
    def for_shop(self) -> bool:
        """A refusal for one shop only: other shops' orders may still be dialed."""
        return self.value.startswith("shop_")


@dataclass(frozen=True)
class Refused:
    """No call now, and why; ask again after ``retry_after_s``."""

    reason: Refusal
    retry_after_s: float


class CallAdmission(Protocol):
    """The one admission gate shared by every worker: pause, the concurrency caps and the
    calls-per-second buckets (installation, trunk, shop), each enforced in one Redis script.
    Nobody else enforces or rewrites them."""

    async def admit(self, call_id: str) -> Admitted | Refused:
        """A slot in the installation's limits and on a server (asked before claiming)."""

    async def admit_shop(self, call_id: str, shop_name: str) -> Refused | None:
        """The claimed order's shop limits for an admitted call: None when they allow it."""

    async def release(self, call_id: str, *, placed: bool) -> None:
        """The call ended (or, ``placed=False``, was never dialed: its CPS tokens come back)."""

    async def back_off(self, server: str) -> None:
        """The trunk behind ``server`` refused a call for capacity: slow its calls down."""


class CallLimits(Protocol):
    """The Redis side of the admission gate (``adapters/redis_limits.RedisCallLimits``)."""

    async def acquire(self, call_id: str, trunks: Sequence[Trunk] = ()) -> Admitted | Refused: ...

    async def acquire_shop(self, call_id: str, shop_name: str) -> Refused | None: ...

    async def release(self, call_id: str, *, placed: bool = True) -> None: ...

    async def back_off(self, trunk: str) -> float: ...


class TrunkSource(Protocol):
    def available(self) -> list[Trunk]:
        """Servers (trunks) that can take a call right now."""


class Originator(Protocol):
    async def originate(self, req: OriginateRequest) -> None:
        """Ask Asterisk to place the call; the outcome arrives later through CallEvents.
        Raises OriginateNotPlaced when it is certain no call was placed."""

    async def hangup(self, call_id: str, server: str = "default") -> bool:
        """Hang up the call's channel (ringing or answered); False when it has no channel
        (not created yet, or already gone)."""

    def forget(self, call_id: str) -> None:
        """The call is over: drop what the originator kept about it."""


@dataclass(frozen=True)
class RecognitionResult:
    text: str
    final: bool
    confidence: float  # 0..1, mean word confidence; 0 for empty text
    words: tuple[tuple[str, float], ...] = ()


class RecognizerStream(Protocol):
    """One call's recognizer: feed 8 kHz slin16 audio, get results as utterances end."""

    async def feed(self, pcm: bytes) -> RecognitionResult | None:
        """Return a final result when an utterance ended in this chunk, else None."""

    async def finish(self) -> RecognitionResult:
        """Flush whatever was heard since the last final result."""

    def reset(self) -> None:
        """Drop what has been heard so far (e.g. echo while the robot spoke)."""

    def close(self) -> None:
        """The call is over: free the decoder."""

    # Recognizer load, for capacity planning (robot bench): seconds of audio that passed the
    # gate to the decoder, and seconds spent decoding it.
    decoded_audio_s: float
    decode_s: float


class Recognizer(Protocol):
    model_name: str

    def languages(self) -> tuple[str, ...]:
        """Languages this recognizer can decode with its loaded model."""

    def open(self, language: str) -> RecognizerStream: ...


class MediaKind(str, Enum):
    AUDIO = "audio"  # 20 ms of caller audio
    DTMF = "dtmf"  # a key press
    HANGUP = "hangup"  # Asterisk said the call ended
    ERROR = "error"  # Asterisk reported an error on the channel
    CLOSED = "closed"  # the socket closed without a hangup frame (Asterisk died?)


@dataclass(frozen=True)
class MediaEvent:
    kind: MediaKind
    at: float  # event-loop time when received
    pcm: bytes = b""
    digit: str = ""


class MediaSession(Protocol):
    """One answered call's audio, as the AudioSocket server hands it to the engine."""

    call_id: str
    events: asyncio.Queue[MediaEvent]
    closed: asyncio.Event

    async def play(self, pcm: bytes) -> bool:
        """Play 8 kHz slin16 audio; True when it all went out, False if stopped or closed."""

    def stop_playback(self) -> None: ...

    def hangup(self) -> None: ...


class PromptSource(Protocol):
    def render_prompt(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> bytes:
        """8 kHz slin16 audio of a prompt for this order (blocking: call it off the loop).
        ``change``: the requested change a read-back (Prompt.CONFIRM_CHANGE) says."""

    def prompt_text(
        self, prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
    ) -> str: ...


class CallState(str, Enum):
    """Where a live call is, as the dashboard shows it."""

    DIALING = "dialing"  # claimed, Originate being sent
    RINGING = "ringing"  # Asterisk accepted the Originate; the phone rings
    SPEAKING = "speaking"  # answered; the robot plays a prompt
    LISTENING = "listening"  # answered; the robot waits for the customer's answer
    CLOSING = "closing"  # the dialog ended; goodbye, hangup or transfer under way
    ENDED = "ended"  # the call is over and its outcome recorded


@dataclass(frozen=True)
class CallStateChange:
    """One state change of a live call, published for the dashboard and the metrics."""

    call_id: str
    order_id: str
    state: CallState
    at: datetime  # when the call entered this state (UTC)
    started_at: datetime  # when the call was claimed (UTC)
    attempt: int
    phone: str  # E.164; adapters mask it before it leaves the process
    language: str
    outcome: Outcome | None = None  # set when ENDED
    reason: str = ""
    intake_to_originate_ms: float | None = None  # first attempt only, once RINGING
    speech_end_to_decision_ms: float | None = None  # once ENDED, if the customer spoke
    shop_name: str = ""  # the order's shop (live view filter, analytics per shop)
    purpose: str = "confirm"  # what the call is about (analytics per purpose)


class CallEvents(Protocol):
    """Where the engine reports live call state; must not block or raise (fire and forget)."""

    def publish(self, change: CallStateChange) -> None: ...


@dataclass(frozen=True)
class RunControls:
    """Dialing controls a supervisor changes at run time; None: this worker's configured value."""

    paused: bool = False
    max_concurrent_calls: int | None = None
    calls_per_second: float | None = None


@dataclass(frozen=True)
class WorkerReport:
    """What a dialing worker says about itself (heartbeat for the dashboard)."""

    worker_id: str
    paused: bool
    active_calls: int
    max_concurrent_calls: int
    calls_per_second: float | None
    at: datetime
    loop_idle_s: float | None = None  # since the dialer loop last turned (a stuck loop grows)


class RunControlSource(Protocol):
    async def read(self) -> RunControls: ...

    async def report(self, report: WorkerReport) -> None: ...


# -- the call policy's facts (engine/policy_gate) ------------------------------------------------


class DoNotCallList(Protocol):
    async def contains(self, phone: str) -> bool: ...

    async def add(self, phone: str, now: datetime, *, source: str = ..., reason: str = ...) -> bool:
        """List the phone durably; True if it was not listed before."""


class PhoneCallLog(Protocol):
    async def note_call(self, phone: str, call_id: str, at: datetime) -> None:
        """A call to ``phone`` is about to be placed."""

    async def phone_calls(self, phone: str, since: datetime) -> list[datetime]: ...

    async def forget_call(self, phone: str, call_id: str) -> None:
        """A noted call was not placed after all (the server refused it)."""


class ReopenLog(Protocol):
    async def reopening(self, order_id: str) -> Reopening | None:
        """How a supervisor last reopened the order, if ever (robot.core.reopen)."""


class OrderFinalizer(Protocol):
    async def finalize_claimed(
        self, order_id: str, worker_id: str, status: OrderStatus, now: datetime, reason: str
    ) -> bool:
        """End a leased order without a call (final ``status``); False if not ours anymore."""
