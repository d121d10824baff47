"""The protocol-level load generator: a fake Asterisk (AMI) whose calls are answered by
simulated customers over AudioSocket. Every Originate is answered after the ring time; the
AudioSocket goes to the address the dialer sent with the call (``DOZVON_AUDIOSOCKET``), so
any number of robot workers can be driven at once; when the robot hangs up (or the customer's
connection closes) the fake Asterisk reports the channel's ``Hangup`` (cause 16)."""

from __future__ import annotations

import asyncio

from robot.adapters.ami.originator import REASON_ANSWERED
from robot.config import REPO_ROOT
from robot.devtools.bench.customers import Answer, CustomerCall, Customers
from robot.testing.fake_ami import FakeAsterisk, OriginatedCall

CAUSE_NORMAL_CLEARING = 16


class ProtocolSimulator:
    def __init__(
        self, answer: str, language: str, *, ring_s: float = 0.5, host: str = "127.0.0.1"
    ) -> None:
        if answer == "speech":
            spoken = Answer.spoken(REPO_ROOT / "audio" / "customer" / language / "yes.wav")
        else:
            spoken = Answer.key("1")
        self.host = host
        self.customers = Customers(spoken, ring_s=ring_s, on_end=self._ended)
        self.fake = FakeAsterisk(host, 0, self._originated)
        self._pending: dict[str, OriginatedCall] = {}
        self.unroutable = 0  # Originates without an AudioSocket address

    async def start(self, port: int) -> None:
        self.fake.port = port
        await self.fake.start()
        self.customers.start()

    async def stop(self) -> None:
        await self.customers.stop()
        await self.fake.stop()

    async def wait_connected(self, workers: int, timeout_s: float = 30.0) -> None:
        """Until every robot worker has logged in over AMI."""
        async with asyncio.timeout(timeout_s):
            while sum(1 for s in self.fake.sessions if s.logged_in) < workers:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    def _originated(self, call: OriginatedCall) -> None:
        addr = call.variables.get("DOZVON_AUDIOSOCKET", "")
        host, _, port = addr.rpartition(":")
        if not host or not port.isdigit():
            self.unroutable += 1
            self.fake.originate_response(call, answered=False, reason=0)
            return
        self._pending[call.channel_id] = call
        self.customers.on_answer = self._answered
        media_key = call.variables.get("DOZVON_MEDIA_ID", call.channel_id)
        self.customers.ring(call.channel_id, host, int(port), media_key)

    def _answered(self, call_id: str) -> None:
        call = self._pending.pop(call_id, None)
        if call is not None:
            self.fake.originate_response(call, answered=True, reason=REASON_ANSWERED)

    def _ended(self, call: CustomerCall) -> None:
        self.fake.hangup(call.call_id, CAUSE_NORMAL_CLEARING)

    def reply_latencies(self) -> list[float]:
        calls = self.customers.calls.values()
        return [c.reply_latency_s for c in calls if c.reply_latency_s is not None]

    @property
    def frame_gaps(self) -> int:
        return self.customers.frame_gaps

    def health(self) -> dict[str, float]:
        c = self.customers
        return {
            "loadgen_late_ticks": c.late_ticks,
            "loadgen_max_lag_ms": round(c.max_lag_s * 1000),
            "unroutable_originates": self.unroutable,
        }
