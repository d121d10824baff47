"""Redis away for ~40 s while answered calls end (issue 12 item 4): no answer is lost, no order
is called twice, every order's final result reaches the CRM once.

Real ``robot worker`` processes, the test's own redis-server (AOF) stopped and started again on
the same port and directory, a real Asterisk whose simulated customers press 1 after the
question, and an independent AMI session counting the calls Asterisk placed (test_durability).
Leases are 3 s, so every lease runs out during the outage; the policy would call an order
again 1 s after a lost call, so a requeue would show up as a second call.

Two workers share the outage: worker-a rides it out (results kept in memory and in its
journal, written when Redis is back); worker-b is killed with SIGKILL as soon as its
customers' answers are in its journal (during or right after the goodbye), and worker-c,
started with the same journal directory while Redis is still down, adopts its
journal and writes those answers before it dials anything.
"""

from __future__ import annotations

import asyncio
import signal
import time

from robot.adapters.finish_journal import fold
from robot.core.models import OrderStatus
from robot.devtools.demo import phone_for

from . import test_durability as durability
from .test_durability import SCENARIO, Rig, digits

pytestmark = durability.pytestmark
rig = durability.rig  # the fixture: Redis, Asterisk, CRM, an AMI observer, worker processes

OUTAGE_S = 40.0
POLICY = {"hours": "00:00-24:00", "max_attempts": 2, "min_gap": "0s",
          "retry": {"failed": {"delays": ["1s"]}, "unclear": {"delays": ["1s"]}}}  # fmt: skip


async def test_redis_down_40s_while_answered_calls_end(rig: Rig) -> None:
    journal = str(rig.workdir / "journal")
    env = {"DOZVON_MAX_CONCURRENT_CALLS": "3", "DOZVON_FINISH_JOURNAL_DIR": journal}
    rig.spawn("worker-a", POLICY, **env)
    rig.spawn("worker-b", POLICY, **env)
    await asyncio.gather(rig.ready("worker-a"), rig.ready("worker-b"))
    orders = [(f"O-{i}", phone_for("ru", i, SCENARIO[4])) for i in range(6)]  # presses 1
    for oid, phone in orders:
        await rig.add(oid, phone)
    ids = [oid for oid, _ in orders]

    async def answered(oid: str) -> bool:
        record = await rig.store.get_order(oid)
        return record is not None and any(c.answered_at for c in record.calls)

    async with asyncio.timeout(90):  # every customer picked up; the intro is playing
        while not all([await answered(oid) for oid in ids]):
            await asyncio.sleep(0.1)
    dialed = {w: rig.log(w).count(": dialing ") for w in ("worker-a", "worker-b")}
    assert sum(dialed.values()) == 6, dialed
    down_at = time.monotonic()
    await asyncio.to_thread(rig.redis.stop)  # the answers (key 1) all come while it is down

    # worker-b's calls end (their results go to its journal); then it is killed.
    # worker-b's customers answer; each answer is in its journal before the goodbye ends, and
    # worker-b is killed right then (mid-goodbye or just after), memory and all.
    journal_b = rig.workdir / "journal" / "worker-b.jsonl"
    async with asyncio.timeout(OUTAGE_S - 5):
        while len(fold(journal_b.read_bytes()) if journal_b.exists() else {}) < dialed["worker-b"]:
            await asyncio.sleep(0.1)
    rig.workers["worker-b"].send_signal(signal.SIGKILL)
    await asyncio.to_thread(rig.workers["worker-b"].wait, 10)
    rig.spawn("worker-c", POLICY, **env)  # a replacement, started while Redis is still down
    async with asyncio.timeout(2 * OUTAGE_S):  # each Redis call retries ~5 s before it fails
        while rig.log("worker-a").count("kept until the store is back") < dialed["worker-a"]:
            await asyncio.sleep(0.2)
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    outage_s = time.monotonic() - down_at
    await asyncio.to_thread(rig.redis.start)  # same port, same AOF directory

    finals = await rig.finals(ids, timeout_s=120)
    await asyncio.sleep(5)  # a wrongly requeued order would be dialed again by now (1 s retry)
    lost = [oid for oid in ids if finals[oid]["status"] != OrderStatus.CONFIRMED.value]
    twice = [oid for oid, phone in orders if len(rig.channels.calls_to(digits(phone))) != 1]
    per_order = rig.finals_per_order()
    print(f"\nRedis down {outage_s:.0f} s: {len(ids)} answered calls (worker-a"
          f" {dialed['worker-a']}, worker-b {dialed['worker-b']} killed), answers lost"
          f" {len(lost)}, orders called"
          f" twice {len(twice)}, finals delivered once"
          f" {sum(1 for oid in ids if per_order.get(oid) == 1)}/{len(ids)}")  # fmt: skip
    if lost or twice:  # what the workers did, for the failure report
        keys = ("lease expired", "claimed", "dialing", "kept", "adopted", "finished")
        for name in ("worker-a", "worker-b", "worker-c"):
            for line in rig.log(name).splitlines():
                if any(k in line for k in keys):
                    print(name, line[:300])
    assert lost == [] and twice == []
    assert per_order == dict.fromkeys(ids, 1)
    for oid in ids:
        (call,) = finals[oid]["history"]  # one call, with its answer
        assert call["outcome"] == "confirmed" and call["answered_at"] is not None
        assert (await rig.store.get_order(oid)).attempts == 1
    # Each worker wrote what it kept; worker-c took worker-b's journal over.
    if dialed["worker-a"]:
        assert "kept result written" in rig.log("worker-a")
    if dialed["worker-b"]:
        assert "adopted" in rig.log("worker-c") and "kept result written" in rig.log("worker-c")
    for name in ("worker-a", "worker-c"):
        assert rig.workers[name].poll() is None  # both rode it out
