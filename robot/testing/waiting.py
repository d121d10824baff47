"""Shared test helpers: free loopback ports and waiting for a condition.

The timeouts here are hang guards, never timing assertions: a condition is expected long
before its timeout, and the test fails (``TimeoutError``) only if it never comes.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free now on ``host`` (loopback by default)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_udp_port(host: str = LOOPBACK) -> int:
    """A UDP port free now on ``host`` (for a SIP transport)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def wait_until(
    predicate: Callable[[], object | Awaitable[object]],
    timeout_s: float = 30.0,
    *,
    interval_s: float = 0.02,
) -> None:
    """Return once ``predicate()`` (a plain or an async callable) is truthy; ``TimeoutError``
    after ``timeout_s`` (a liveness bound only)."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(interval_s)
