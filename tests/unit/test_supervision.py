"""Background tasks that die are restarted with backoff and reported (robot.supervision)."""

from __future__ import annotations

import asyncio

from robot.supervision import TaskBoard, run_with_restarts


class Component:
    """Starts its own task, like the hangup listener; the first two runs crash."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.runs = 0
        self.stop = asyncio.Event()

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        self.runs += 1
        if self.runs <= 2:
            raise ConnectionError(f"lost {self.runs}")
        await self.stop.wait()


async def test_watch_restarts_a_components_own_task():
    board = TaskBoard(base_backoff_s=0.01)
    c = Component()
    c.start()
    board.watch("component", lambda: c.task, c.start, c.stop.is_set)
    async with asyncio.timeout(10):
        while c.runs < 3:
            await asyncio.sleep(0.01)
    status = board.tasks["component"]
    assert status.restarts == 2 and "lost 2" in status.last_error
    c.stop.set()
    await board.close()


async def test_a_loop_that_returns_is_finished_not_restarted():
    board = TaskBoard(base_backoff_s=0.01)
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    await asyncio.wait_for(run_with_restarts("once", once, board=board,
                                             stopping=asyncio.Event()), 5)  # fmt: skip
    assert runs == 1 and board.tasks["once"].state == "stopped" and board.healthy()


async def test_backoff_grows_and_is_capped():
    board = TaskBoard(base_backoff_s=0.5, max_backoff_s=30.0)
    assert [board.backoff(n) for n in (1, 2, 3, 10)] == [0.5, 1.0, 2.0, 30.0]
