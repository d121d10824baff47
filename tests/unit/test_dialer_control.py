"""Run-time controls as each worker reports them (the admission gate enforces them: see
tests/integration/test_redis_limits.py), and live call state events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from robot.core.models import CallAttempt, Outcome
from robot.engine.calls import CallTracker
from robot.engine.control import DialerControl
from robot.ports import CallState, CallStateChange, RunControls, WorkerReport
from robot.testing import ManualClock


@dataclass
class FakeSource:
    controls: RunControls = field(default_factory=RunControls)
    reports: list[WorkerReport] = field(default_factory=list)
    fail: bool = False

    async def read(self) -> RunControls:
        if self.fail:
            raise ConnectionError("redis down")
        return self.controls

    async def report(self, report: WorkerReport) -> None:
        self.reports.append(report)


@dataclass
class FakeConfig:
    worker_id: str = "w1"
    max_concurrent_calls: int = 10


@dataclass
class FakeDialer:
    config: FakeConfig = field(default_factory=FakeConfig)
    active: int = 0


async def test_controls_are_reported_and_fall_back():
    clock = ManualClock()
    source = FakeSource()
    control = DialerControl(source, clock=clock)
    dialer = FakeDialer()
    await control.turned(dialer)  # type: ignore[arg-type]
    assert source.reports[-1].worker_id == "w1" and not source.reports[-1].paused
    source.controls = RunControls(paused=True, max_concurrent_calls=3)
    await control.turned(dialer)  # type: ignore[arg-type]
    last = source.reports[-1]
    assert last.paused and last.max_concurrent_calls == 3
    assert dialer.config.max_concurrent_calls == 10  # reported, not applied: the gate's job
    source.fail = True  # Redis gone: the last controls stay the ones in force
    await control.turned(dialer)  # type: ignore[arg-type]
    assert control.controls.paused and control.controls.max_concurrent_calls == 3
    source.fail = False
    source.controls = RunControls()
    await control.turned(dialer)  # type: ignore[arg-type]
    last = source.reports[-1]
    assert not last.paused and last.max_concurrent_calls == 10  # configured again


async def test_reports_at_most_once_a_second():
    clock = ManualClock()
    source = FakeSource()
    control = DialerControl(source, clock=clock)
    dialer = FakeDialer()
    for _ in range(5):
        await control.turned(dialer)  # type: ignore[arg-type]
    assert len(source.reports) == 1
    clock.t += 1.0
    await control.turned(dialer)  # type: ignore[arg-type]
    assert len(source.reports) == 2
    dialer.active = 1  # a change is reported at once
    await control.turned(dialer)  # type: ignore[arg-type]
    assert len(source.reports) == 3 and source.reports[-1].active_calls == 1


class Events:
    def __init__(self) -> None:
        self.changes: list[CallStateChange] = []

    def publish(self, change: CallStateChange) -> None:
        self.changes.append(change)


async def test_tracker_publishes_each_state_once():
    events = Events()
    tracker = CallTracker(events=events)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    call = CallAttempt(
        call_id="c1", order_id="o1", phone="+79161234567", language="ru", created_at=now
    )
    tracker.register(call)
    tracker.set_state("c1", CallState.RINGING)
    tracker.set_state("c1", CallState.RINGING)  # no change, no event
    tracker.set_state("c1", CallState.SPEAKING)
    tracker.unregister("c1")
    tracker.set_state("c1", CallState.LISTENING)  # gone: ignored
    call.outcome = Outcome.CONFIRMED
    tracker.finished(call)
    states = [c.state for c in events.changes]
    assert states == [CallState.DIALING, CallState.RINGING, CallState.SPEAKING, CallState.ENDED]
    assert events.changes[-1].outcome is Outcome.CONFIRMED
