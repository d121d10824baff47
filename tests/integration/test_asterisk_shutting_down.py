"""An Asterisk that is shutting down does not use up an order's attempt (issue 12 item 10).

Two real Asterisk servers behind one worker. Server b (preferred: more free capacity) is told
``core stop gracefully`` while one of its calls still rings, so it stays up but answers every
Originate with "Asterisk is shutting down". An order routed to it is given back without the
attempt (the policy allows one call per order), and is then placed through server a: the
customer confirms, the order's history has that one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from robot.adapters.ami.connection import AmiConnection
from robot.config import AsteriskServerConfig, Settings
from robot.devtools.asterisk.runtime import AsteriskRuntime, environment_problem
from robot.testing import free_port

from .callstack import AMI_SECRET, TOKEN, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))


async def test_an_asterisk_shutting_down_does_not_burn_the_attempt() -> None:
    base = Settings()
    port_a, port_b = free_port(), free_port()
    second = AsteriskRuntime(base.asterisk_root, port_b, base.ami_user, AMI_SECRET, "127.0.0.1",
                             9, base.audio_dir, instance=f"it-sd-{port_b}")  # fmt: skip
    servers = [
        AsteriskServerConfig(name="a", ami_port=port_a, secret=AMI_SECRET, capacity=1),
        AsteriskServerConfig(name="b", ami_port=port_b, secret=AMI_SECRET, capacity=5),
    ]
    await asyncio.to_thread(second.start)
    keeper = AmiConnection("127.0.0.1", port_b, base.ami_user, AMI_SECRET, events="off",
                           reconnect_max_s=1.0, name="keeper")  # fmt: skip
    stopping: asyncio.Future[str] | None = None
    try:
        async with call_stack(ami_port=port_a, asterisk_servers=servers) as stack:
            pool = stack.service.pool
            assert pool is not None
            async with asyncio.timeout(30):
                while len(pool.available()) < 2:
                    await asyncio.sleep(0.1)
            # A call that keeps b alive while it shuts down: it rings for a minute.
            await keeper.start()
            await keeper.wait_connected(15)
            cid = str(uuid.uuid4())
            await keeper.send_action("Originate", [
                ("Channel", "Local/79160000007@dozvon-customer/n"), ("Context", "operators"),
                ("Exten", "100"), ("Priority", "1"), ("Timeout", "60000"), ("Async", "true"),
                ("ChannelId", cid),
            ])  # fmt: skip
            await asyncio.sleep(1.0)
            stopping = asyncio.ensure_future(
                asyncio.to_thread(second.cli, "core stop gracefully", 90)
            )
            await asyncio.sleep(1.5)  # b now refuses new calls, its AMI still logged in
            assert pool.servers["b"].conn.connected.is_set()

            await stack.push(order("sd-1", "+79165550104"))  # presses 1
            final = await stack.final("sd-1", timeout_s=120)
            assert final["call"]["outcome"] == "confirmed", final
            assert final["call"]["asterisk"] == "a"
            assert len(final["history"]) == 1 and final["attempts"] == 1
            assert pool.servers["b"].draining  # out of the rotation until it logs in again
            assert [t.name for t in pool.available()] == ["a"]
            async with stack.http.get(
                f"{stack.api}/api/v1/orders/sd-1", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as r:
                body = await r.json()
            assert [c["asterisk"] for c in body["calls"]] == ["a"]  # the refused one is gone
    finally:
        await keeper.stop()
        second.stop()
        if stopping is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stopping, 20)
        second.remove_files()
