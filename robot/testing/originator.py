"""One fake ``ports.Originator`` for every test and the sandbox: no Asterisk, the test decides
how each call goes."""

from __future__ import annotations

import asyncio

from robot.core.models import Outcome
from robot.engine.calls import CallTracker
from robot.ports import MediaKind, OriginateOutcome, OriginateRequest
from robot.testing.fakes import FakeMedia


class FakeOriginator:
    """Records every Originate. With ``outcome`` each call ends at once, unanswered, with that
    outcome (busy, no answer...); without, it rings until the test answers it (``answer``:
    the customer's media, then ``press``), fails it (``fail``) or hangs it up (``hangup``, as
    the dialer does for a cancelled order: reported as not answered)."""

    def __init__(
        self, tracker: CallTracker, outcome: Outcome | None = None, *, play_s: float = 0.3
    ) -> None:
        self.tracker = tracker
        self.outcome = outcome
        self.play_s = play_s  # how long each prompt of an answered call plays
        self.requests: list[OriginateRequest] = []
        self.dialed: asyncio.Queue[OriginateRequest] = asyncio.Queue()
        self.ringing = asyncio.Event()  # set once a call rings (no ``outcome``)
        self.hangups: list[str] = []
        self.media: dict[str, FakeMedia] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def originate(self, req: OriginateRequest) -> None:
        self.requests.append(req)
        self.dialed.put_nowait(req)
        if self.outcome is None:
            self.ringing.set()
            return
        asyncio.get_running_loop().call_soon(self.fail, req.call_id, self.outcome,
                                             self.outcome.value)  # fmt: skip

    async def hangup(self, call_id: str, server: str = "default") -> bool:
        self.hangups.append(call_id)
        self.fail(call_id, Outcome.NO_ANSWER, "declined before answer")
        return True

    def forget(self, call_id: str) -> None:
        """The dialer is done with the call (ports.Originator); nothing kept to drop."""

    def answer(self, call_id: str) -> FakeMedia:
        """The customer picks up: the call's media, presenting the call's media key as the
        dialplan does for a real call."""
        media = FakeMedia(self.tracker.media_key(call_id) or call_id, play_s=self.play_s)
        self.media[call_id] = media
        task = asyncio.create_task(self.tracker.handle_media(media))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return media

    def fail(self, call_id: str, outcome: Outcome, reason: str) -> None:
        self.tracker.originate_result(call_id, OriginateOutcome(False, outcome, reason))

    def press(self, call_id: str, digit: str) -> None:
        self.media[call_id].send(MediaKind.DTMF, digit=digit)
