"""The seams between the engine and the outside world (Redis, Asterisk, Vosk, the CRM).

The engine depends on these protocols only; adapters implement them and ``robot.testing`` has
small in-memory fakes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from robot.core.models import CallAttempt, Order, OrderStatus, Outcome
from robot.core.records import OrderRecord

if TYPE_CHECKING:
    from robot.core.prompts import Prompt


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

    async def renew_lease(self, order_id: str, worker_id: str, lease_s: float) -> bool: ...

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
class OriginateRequest:
    call_id: str
    order_id: str
    channel: str  # e.g. PJSIP/+79161234567@trunk or Local/79161234567@dozvon-customer/n
    caller_id: str
    timeout_s: float
    variables: dict[str, str]


@dataclass(frozen=True)
class OriginateOutcome:
    answered: bool
    outcome: Outcome | None  # None when answered: the dialog decides
    reason: str


class CallEventSink(Protocol):
    """Where an originator reports how calls started (the engine's call tracker)."""

    def originate_result(self, call_id: str, result: OriginateOutcome) -> None: ...

    def asterisk_lost(self, server: str) -> None: ...

    def channel_hungup(self, call_id: str, cause: int, cause_text: str) -> None:
        """Asterisk hung up the call's channel (AMI Hangup event); the AudioSocket closes
        without a hangup frame, so this tells a caller's hangup from a dead Asterisk."""


class Originator(Protocol):
    async def originate(self, req: OriginateRequest) -> None:
        """Ask Asterisk to place the call; the outcome arrives later through CallEvents."""


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
    def render_prompt(self, prompt: Prompt, order: Order, today: date) -> bytes:
        """8 kHz slin16 audio of a prompt for this order (blocking: call it off the loop)."""

    def prompt_text(self, prompt: Prompt, order: Order, today: date) -> str: ...
