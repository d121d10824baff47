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

The :class:`Supervisor` owns a process's components (:class:`Component`: a name, ``start``,
``stop``): it starts them in the order given and stops them in reverse, each stop bounded by a
timeout after which it is cancelled, so the list *is* the shutdown order and nothing is
started lazily behind its back. :class:`Loop` makes a background loop a component (its task
runs under :func:`run_with_restarts`); :class:`Part` makes one of two callables, for objects
whose own methods are shaped otherwise (a sync ``start``, ``aclose``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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


async def join_task(task: asyncio.Task[Any], *, grace_s: float) -> None:
    """Wait for a task that was told to stop, cancelling it only if it overstays.

    Why not just cancel: redis-py can lose a cancellation that lands while a timed read is
    ending (seen with pub/sub ``get_message(timeout=...)`` on Python 3.11); the task then
    waits on the socket forever and ``await task`` never returns. Our loops check a stop flag
    between bounded reads, so cancel is only the fallback, and we never wait on it unbounded.
    """
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        log.warning("task %s did not stop; abandoning it", task.get_name())


# -- components ------------------------------------------------------------------------------


class Component(Protocol):
    """A part of the process with a start and a stop: a server, a connection, a loop.
    ``stop`` is called only after ``start`` returned, and once; it may take the time it
    needs up to its ``stop_timeout_s`` (optional attribute; else the supervisor's)."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def _call(fn: Callable[[], object] | None) -> None:
    """Call ``fn`` and await it if it is a coroutine function; a task it returns (a sync
    ``start`` that hands back the task it began) runs on by itself."""
    if fn is None:
        return
    result = fn()
    if inspect.iscoroutine(result):
        await result


@dataclass
class Part:
    """A component made of two callables (sync or async), either optional."""

    name: str
    on_start: Callable[[], object] | None = None
    on_stop: Callable[[], object] | None = None
    stop_timeout_s: float | None = None  # None: the supervisor's

    async def start(self) -> None:
        await _call(self.on_start)

    async def stop(self) -> None:
        await _call(self.on_stop)


class Loop:
    """A background loop as a component: ``run()`` in a task, restarted with backoff while
    ``stopping`` is not set (:func:`run_with_restarts`, reported on ``board``). Stop sets
    ``stopping`` and waits ``grace_s`` for the loop to return before cancelling it."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        board: TaskBoard | None = None,
        stopping: asyncio.Event | None = None,
        grace_s: float = 5.0,
    ) -> None:
        self.name = name
        self.run = run
        self.board = board
        self.stopping = stopping or asyncio.Event()
        self.grace_s = grace_s
        self.stop_timeout_s = grace_s + 2.0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(
            run_with_restarts(self.name, self.run, board=self.board, stopping=self.stopping),
            name=self.name,
        )

    async def stop(self) -> None:
        self.stopping.set()
        task, self.task = self.task, None
        if task is not None:
            await join_task(task, grace_s=self.grace_s)


class Supervisor:
    """Starts components in order and stops them in reverse; see the module notes.

    A component that fails to start stops the ones started before it (in reverse) and the
    error goes on to the caller. A stop that raises is logged and the next one runs; a stop
    that overstays its timeout is cancelled and the next one runs."""

    def __init__(self, components: Sequence[Component], *, stop_timeout_s: float = 30.0) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names repeat: {names}")
        self.components = list(components)
        self.stop_timeout_s = stop_timeout_s
        self.started: list[Component] = []

    def __getitem__(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    async def start(self) -> None:
        for component in self.components:
            try:
                await component.start()
            except BaseException:
                log.error("%s did not start; stopping the %d started before it",
                          component.name, len(self.started))  # fmt: skip
                await self.stop()
                raise
            self.started.append(component)
            log.debug("started %s", component.name)

    async def stop(self) -> None:
        while self.started:
            component = self.started.pop()
            timeout = getattr(component, "stop_timeout_s", None) or self.stop_timeout_s
            task = asyncio.create_task(component.stop(), name=f"stop-{component.name}")
            await join_task(task, grace_s=timeout)
            if not task.done() or task.cancelled():
                log.error("%s did not stop within %.0f s; cancelled", component.name, timeout)
            elif (error := task.exception()) is not None:
                log.error("%s failed to stop: %r", component.name, error,
                          exc_info=(type(error), error, error.__traceback__))  # fmt: skip
            else:
                log.debug("stopped %s", component.name)


TASKS_KEY = web.AppKey("tasks", TaskBoard)
