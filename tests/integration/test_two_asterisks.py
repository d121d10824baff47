"""Two real Asterisk servers behind one worker: calls spread over both by free capacity, a
stopped server leaves the rotation (the other takes every call) and rejoins once it is back.

The second server's dialplan points its global AudioSocket address at a dead port, so its
calls connect only because the dialer sends this worker's address with every Originate."""

from __future__ import annotations

import asyncio

import pytest

from robot.config import AsteriskServerConfig, Settings
from robot.devtools.asterisk.runtime import AsteriskRuntime, environment_problem
from robot.testing import free_port, wait_until

from .callstack import AMI_SECRET, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(600)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

PRESSES_1 = "+7916555{:02d}04"  # scenario 04: the customer presses 1


async def test_calls_spread_over_two_asterisks_and_survive_one_going_down() -> None:
    base = Settings()
    port_a, port_b = free_port(), free_port()
    second = AsteriskRuntime(
        base.asterisk_root,
        port_b,
        base.ami_user,
        AMI_SECRET,
        "127.0.0.1",
        9,
        base.audio_dir,
        instance=f"it-b-{port_b}",
    )
    servers = [
        AsteriskServerConfig(name="a", ami_port=port_a, secret=AMI_SECRET, capacity=2),
        AsteriskServerConfig(name="b", ami_port=port_b, secret=AMI_SECRET, capacity=2),
    ]
    await asyncio.to_thread(second.start)
    try:
        async with call_stack(ami_port=port_a, asterisk_servers=servers) as stack:
            pool = stack.service.pool
            assert pool is not None
            await wait_until(lambda: len(pool.available()) == 2)

            async def run(ids: list[str]) -> set[str]:
                for i in ids:
                    await stack.push(order(i, PRESSES_1.format(int(i.split("-")[1]))))
                servers_used = set()
                for i in ids:
                    final = await stack.final(i, timeout_s=120)
                    assert final["call"]["outcome"] == "confirmed", final
                    servers_used.add(final["call"]["asterisk"])
                return servers_used

            assert await run(["two-1", "two-2", "two-3", "two-4"]) == {"a", "b"}

            second.stop()  # b goes down: out of the rotation
            await wait_until(lambda: [t.name for t in pool.available()] == ["a"])
            assert await run(["two-5", "two-6"]) == {"a"}

            await asyncio.to_thread(second.start)  # back: AMI logs in again
            await wait_until(lambda: len(pool.available()) == 2)
            assert await run(["two-7", "two-8", "two-9"]) == {"a", "b"}
    finally:
        second.stop()
        second.remove_files()
