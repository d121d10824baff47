"""The supervisor owns the process's components: started in order, stopped in reverse, each
stop bounded by a timeout; background loops run under it with restart and backoff."""

from __future__ import annotations

import asyncio
import logging

import pytest

from robot.config import Settings
from robot.service import Service
from robot.supervision import Loop, Part, Supervisor, TaskBoard


class Recorder:
    """Components that write what happens to them into one list."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def part(self, name: str, *, fail_start: bool = False, fail_stop: bool = False,
             hang_stop: bool = False, stop_timeout_s: float | None = None) -> Part:  # fmt: skip
        async def start() -> None:
            if fail_start:
                raise RuntimeError(f"{name} cannot start")
            self.events.append(f"start {name}")

        async def stop() -> None:
            if hang_stop:
                self.events.append(f"hang {name}")
                await asyncio.Event().wait()
            if fail_stop:
                raise RuntimeError(f"{name} cannot stop")
            self.events.append(f"stop {name}")

        return Part(name, start, stop, stop_timeout_s=stop_timeout_s)


async def test_started_in_order_and_stopped_in_reverse() -> None:
    rec = Recorder()
    sup = Supervisor([rec.part("a"), rec.part("b"), rec.part("c")])
    await sup.start()
    assert rec.events == ["start a", "start b", "start c"]
    await sup.stop()
    assert rec.events[3:] == ["stop c", "stop b", "stop a"]
    await sup.stop()  # a second stop has nothing left to stop
    assert len(rec.events) == 6


async def test_a_failed_start_stops_what_had_started_and_raises() -> None:
    rec = Recorder()
    sup = Supervisor([rec.part("a"), rec.part("b"), rec.part("c", fail_start=True),
                      rec.part("d")])  # fmt: skip
    with pytest.raises(RuntimeError, match="c cannot start"):
        await sup.start()
    assert rec.events == ["start a", "start b", "stop b", "stop a"]
    assert sup.started == []


async def test_a_stop_that_hangs_is_cancelled_and_the_rest_still_stop(caplog) -> None:
    rec = Recorder()
    sup = Supervisor([rec.part("a"), rec.part("b", hang_stop=True, stop_timeout_s=0.05)])
    await sup.start()
    with caplog.at_level(logging.ERROR, logger="robot.supervision"):
        await sup.stop()
    assert rec.events[2:] == ["hang b", "stop a"]
    assert "b did not stop within" in caplog.text


async def test_a_stop_that_raises_is_logged_and_the_rest_still_stop(caplog) -> None:
    rec = Recorder()
    sup = Supervisor([rec.part("a"), rec.part("b", fail_stop=True), rec.part("c")])
    await sup.start()
    with caplog.at_level(logging.ERROR, logger="robot.supervision"):
        await sup.stop()
    assert rec.events[3:] == ["stop c", "stop a"]
    assert "b failed to stop" in caplog.text and "b cannot stop" in caplog.text


async def test_parts_take_sync_or_async_callables_or_none() -> None:
    seen: list[str] = []

    async def later() -> None:
        seen.append("async stop")

    sup = Supervisor([Part("sync", lambda: seen.append("sync start"), later), Part("empty")])
    await sup.start()
    await sup.stop()
    assert seen == ["sync start", "async stop"]


def test_component_names_are_unique() -> None:
    with pytest.raises(ValueError, match="repeat"):
        Supervisor([Part("a"), Part("a")])


async def test_a_loop_that_raises_is_restarted_and_reported_then_stopped() -> None:
    board = TaskBoard(base_backoff_s=0.01)
    runs = 0
    again = asyncio.Event()

    async def run() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run dies")
        again.set()
        await asyncio.Event().wait()  # runs until cancelled or stopped

    loop = Loop("worker-loop", run, board=board, grace_s=0.1)
    sup = Supervisor([loop])
    await sup.start()
    await asyncio.wait_for(again.wait(), 10)  # liveness bound only
    st = board.status("worker-loop")
    assert st.restarts == 1 and "first run dies" in st.last_error and st.state == "running"
    await sup.stop()
    assert loop.stopping.is_set() and loop.task is None
    assert runs == 2


async def test_a_loop_that_returns_after_stop_is_not_restarted() -> None:
    stopping = asyncio.Event()
    runs = 0

    async def run() -> None:
        nonlocal runs
        runs += 1
        await stopping.wait()

    sup = Supervisor([Loop("polite", run, stopping=stopping)])
    await sup.start()
    await asyncio.sleep(0)
    await sup.stop()
    assert runs == 1


def component_names(service: Service) -> list[str]:
    return [c.name for c in service.components()]


def test_the_service_shutdown_order_is_its_component_list_reversed(tmp_path) -> None:
    service = Service.build(Settings(var_dir=tmp_path))
    names = component_names(service)
    stop_order = names[::-1]
    assert stop_order == [
        "dialer",  # no new dials; the live calls drain
        "intake-stream",  # then intake stops
        "webhook",  # results flushed to the CRM
        "housekeeping",
        "hangup-listener",
        "finish-restore",
        "task-board",
        "http",
        "audiosocket",
        "asterisk",
        "call-limits",
        "shop-registry",
        "live-board",
        "redis-store",  # Redis closes last
        "finish-journal",
        "recognizer",
    ]
    # a dialing worker has no HTTP listener, and nothing else changes
    worker = Service.build(Settings(var_dir=tmp_path), with_http=False)
    assert component_names(worker) == [n for n in names if n != "http"]


async def test_stopping_a_service_that_never_started_does_nothing(tmp_path) -> None:
    service = Service.build(Settings(var_dir=tmp_path))
    await service.stop(drain_s=0)
    assert service.supervisor is None


async def test_a_start_that_returns_its_task_is_not_waited_for() -> None:
    # IntakeStreamConsumer.start and WebhookDeliverer.start hand back the task they began
    forever = asyncio.Event()
    task: asyncio.Task[None] | None = None

    def start() -> asyncio.Task[None]:
        nonlocal task
        task = asyncio.create_task(forever.wait())
        return task

    async def stop() -> None:
        forever.set()
        assert task is not None
        await task

    sup = Supervisor([Part("returns-task", start, stop)])
    await asyncio.wait_for(sup.start(), 10)  # liveness bound only: start must not await it
    assert task is not None and not task.done()
    await sup.stop()
    assert task.done()
