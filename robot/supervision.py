"""Background tasks that die are logged, restarted with backoff and reported.

A component's loop catches what it expects (Redis errors, bad input) itself; anything else that
escapes (a bug, an exception nobody foresaw) used to end its task silently while ``/healthz``
stayed green. Here every supervised loop is restarted after 0.5 s, 1 s, 2 s ... (capped at
``max_backoff_s``; the delay starts over once a run lasted ``stable_s``), and the
:class:`TaskBoard` of the process says which tasks run, how often each was restarted and the
last error. ``/healthz`` answers 503 ``degraded`` while a task waits for its restart;
``/metrics`` has ``dozvon_task_up{task}`` and ``dozvon_task_restarts_total{task}``.

Two ways in: :func:`run_with_restarts` wraps a loop we start (``await`` it as the task body),
:meth:`TaskBoard.watch` follows a task a component starts itself and calls the component's
``start`` again when it dies. A loop that returns normally has finished (it was told to stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from robot.logsafe import clean

log = logging.getLogger(__name__)


@dataclass
class TaskStatus:
    name: str
    state: str = "running"  # running | restarting | stopped
    restarts: int = 0
    last_error: str = ""
    last_failure_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "restarts": self.restarts, "last_error": self.last_error,
                "last_failure_at": self.last_failure_at.isoformat()
                if self.last_failure_at else None}  # fmt: skip


@dataclass
class TaskBoard:
    """The supervised tasks of this process and how they fare."""

    max_backoff_s: float = 30.0
    base_backoff_s: float = 0.5
    stable_s: float = 60.0
    tasks: dict[str, TaskStatus] = field(default_factory=dict)
    _watchers: set[asyncio.Task[None]] = field(default_factory=set)

    def status(self, name: str) -> TaskStatus:
        if name not in self.tasks:
            self.tasks[name] = TaskStatus(name)
        return self.tasks[name]

    def report(self) -> dict[str, dict[str, Any]]:
        return {name: s.to_json() for name, s in sorted(self.tasks.items())}

    def healthy(self) -> bool:
        return all(s.state != "restarting" for s in self.tasks.values())

    def died(self, name: str, error: BaseException | str) -> TaskStatus:
        st = self.status(name)
        st.state, st.restarts = "restarting", st.restarts + 1
        st.last_error = clean(error if isinstance(error, str) else repr(error), 300)
        st.last_failure_at = datetime.now(UTC)
        return st

    def backoff(self, restarts: int) -> float:
        return min(self.base_backoff_s * 2.0 ** max(0, restarts - 1), self.max_backoff_s)

    def watch(
        self,
        name: str,
        task: Callable[[], asyncio.Task[Any] | None],
        restart: Callable[[], object],
        stopping: Callable[[], bool],
    ) -> None:
        """Follow the task ``task()`` returns (a component's own); when it ends with an
        exception and ``stopping()`` is false, log it, wait the backoff and call ``restart``
        (the component's ``start``, sync or async), then follow the new task."""

        async def follow() -> None:
            streak = 0
            while not stopping():
                current = task()
                if current is None:
                    return
                self.status(name).state = "running"
                started = time.monotonic()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.shield(current)
                if stopping() or current.cancelled():
                    break
                error = current.exception()
                if error is None:
                    break
                streak = 1 if time.monotonic() - started >= self.stable_s else streak + 1
                st = self.died(name, error)
                log.error("task %s died (%s); restart %d in %.1f s", name, st.last_error,
                          st.restarts, self.backoff(streak),
                          exc_info=(type(error), error, error.__traceback__))  # fmt: skip
                await asyncio.sleep(self.backoff(streak))
                if stopping():
                    break
                result = restart()
                if asyncio.iscoroutine(result):
                    await result
            self.status(name).state = "stopped"

        watcher = asyncio.create_task(follow(), name=f"watch-{name}")
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    async def close(self) -> None:
        for w in list(self._watchers):
            w.cancel()
        if self._watchers:
            await asyncio.wait(self._watchers, timeout=1.0)


async def run_with_restarts(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    board: TaskBoard | None,
    stopping: asyncio.Event,
) -> None:
    """Run ``run()`` until it returns or ``stopping`` is set; restart it with backoff when it
    raises. Cancellation passes through."""
    board = board or TaskBoard()
    st, streak = board.status(name), 0
    while not stopping.is_set():
        st.state = "running"
        started = time.monotonic()
        try:
            await run()
            break
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # A long good run starts the backoff over.
            streak = 1 if time.monotonic() - started >= board.stable_s else streak + 1
            board.died(name, e)
            delay = board.backoff(streak)
            log.exception("task %s died; restarting in %.1f s", name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
    st.state = "stopped"


TASKS_KEY = web.AppKey("tasks", TaskBoard)
