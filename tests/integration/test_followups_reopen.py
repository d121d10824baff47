"""Work for humans on real Redis with a real dialer (simulated calls): the follow-up queue
(take, note, resolve, audited), and "call now" on a final order, which reopens it with a
stated number of attempts, really calls, and reports one new, distinct final to the CRM."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from robot.core.models import OrderStatus, Outcome
from robot.devtools.sandbox import sandbox, supervisors_json

USERS = {
    "anna": ("admin", "anna-pass-1"),
    "ivan": ("admin", "ivan-pass-1"),
    "boris": ("viewer", "boris-pass-1"),
}


@pytest.fixture
async def box(redis_server, tmp_path):
    async with sandbox(
        redis_server.url, supervisors=supervisors_json(USERS), var_dir=tmp_path
    ) as b:
        yield b


class Supervisor:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.csrf = http, url, ""

    @classmethod
    async def login(cls, url: str, name: str) -> Supervisor:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        s = cls(http, url)
        async with http.get(f"{url}/login") as r:
            csrf = (await r.text()).split('name="csrf" value="')[1].split('"')[0]
        async with http.post(
            f"{url}/login",
            data={"username": name, "password": USERS[name][1], "csrf": csrf},
            allow_redirects=False,
        ) as r:
            assert r.status == 302
        async with http.get(f"{url}/dashboard/api/me") as r:
            s.csrf = (await r.json())["csrf"]
        return s

    async def post(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        async with self.http.post(
            f"{self.url}{path}", json=body or {}, headers={"X-CSRF-Token": self.csrf}
        ) as r:
            return r.status, await r.json()

    async def get(self, path: str) -> dict:
        async with self.http.get(f"{self.url}{path}") as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def close(self) -> None:
        await self.http.close()


def order(oid: str, phone: str) -> dict:
    return {
        "order_id": oid,
        "phone": phone,
        "amount": "990",
        "shop_name": "Ромашка",
        "customer_name": "Анна",
    }


async def outbox(box) -> dict[str, dict]:
    """Every event waiting for the CRM, by delivery id (the sandbox runs no deliverer)."""
    r = box.store.redis
    ids = await r.zrange("dozvon:outbox:due", 0, -1) + await r.zrange(
        "dozvon:outbox:inflight", 0, -1
    )
    return {d: json.loads(await r.hget(f"dozvon:outbox:item:{d}", "event")) for d in ids}


async def wait_status(box, oid: str, status: OrderStatus) -> None:
    async with asyncio.timeout(30):
        while (await box.store.get_order(oid)).status is not status:
            await asyncio.sleep(0.05)


async def wait_call_state(s, call_id: str, state: str) -> None:
    async with asyncio.timeout(30):
        while True:
            live = (await s.get("/dashboard/api/overview"))["live_calls"]
            if any(c["call_id"] == call_id and c["state"] == state for c in live):
                return
            await asyncio.sleep(0.05)


async def test_granted_attempts_are_counted(box):
    anna = await Supervisor.login(box.url, "anna")
    try:
        await box.push_order(order("R-3", "+79161230303"))
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
        await wait_status(box, "R-3", OrderStatus.EXHAUSTED)
        status, _ = await anna.post("/dashboard/api/orders/R-3/retry", {"attempts": 2})
        assert status == 200
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.BUSY, "busy")
        # One of two used: waiting for the busy retry, not exhausted.
        await wait_status(box, "R-3", OrderStatus.QUEUED)
        explain = await anna.get("/api/v1/orders/R-3/explain")
        assert explain["action"] == "wait" and "attempt 2 of 2" in explain["reason"]
        # Reopened with one: that one call, then exhausted again, reported as a new final.
        await box.push_order(order("R-4", "+79161230304"))
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
        await wait_status(box, "R-4", OrderStatus.EXHAUSTED)
        await anna.post("/dashboard/api/orders/R-4/retry", {"attempts": 1})
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.BUSY, "busy")
        await wait_status(box, "R-4", OrderStatus.EXHAUSTED)
        finals = {
            d: e
            for d, e in (await outbox(box)).items()
            if e["event"] == "order.final" and e["order_id"] == "R-4"
        }
        assert set(finals) == {"R-4:final", "R-4:final:r1"}
        assert finals["R-4:final:r1"]["status"] == "exhausted"
    finally:
        await anna.close()


async def test_call_now_reopens_really_calls_and_sends_one_new_final(box):
    anna = await Supervisor.login(box.url, "anna")
    try:
        await box.push_order(order("R-1", "+79161230301"))
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
        await wait_status(box, "R-1", OrderStatus.EXHAUSTED)  # one attempt allowed
        before = await outbox(box)
        assert before["R-1:final"]["status"] == "exhausted"

        # A bad count is refused; a stated count reopens it.
        for bad in (0, 11, "2", True):
            status, body = await anna.post("/dashboard/api/orders/R-1/retry", {"attempts": bad})
            assert status == 422 and body["field"] == "attempts", bad
        status, body = await anna.post("/dashboard/api/orders/R-1/retry", {"attempts": 2})
        assert status == 200, body
        assert body == {
            "order_id": "R-1",
            "status": "queued",
            "was": "exhausted",
            "reopened": 1,
            "attempts": 2,
        }
        # It is really called again, and the page sees the call.
        req = await box.next_call()
        assert req.order_id == "R-1"
        timeline = await anna.get("/dashboard/api/orders/R-1")
        assert timeline["status"] == "calling" and timeline["reopened"] == 1
        box.originator.answer(req.call_id)
        await wait_call_state(anna, req.call_id, "listening")
        box.originator.press(req.call_id, "1")
        await wait_status(box, "R-1", OrderStatus.CONFIRMED)

        events = await outbox(box)
        finals = {d: e for d, e in events.items() if e["event"] == "order.final"}
        # The first final is the old one, untouched; the new one is marked and distinct.
        assert set(finals) == {"R-1:final", "R-1:final:r1"}
        assert finals["R-1:final"] == before["R-1:final"]
        new = finals["R-1:final:r1"]
        assert new["status"] == "confirmed" and new["reopened"] == 1 and new["final"] is True
        assert [c["outcome"] for c in new["history"]] == ["no_answer", "confirmed"]
        reopened = events["R-1:reopened:1"]
        assert reopened["event"] == "order.reopened" and reopened["final"] is False

        # Explain honours the reopening too (a confirmed order stops, as it should).
        explain = await anna.get("/api/v1/orders/R-1/explain")
        assert explain["action"] == "stop"
        # A confirmed order is not called again, and the answer says why.
        status, body = await anna.post("/dashboard/api/orders/R-1/retry", {"attempts": 1})
        assert status == 409 and body["error"] == "not_reopenable" and body["why"] == "confirmed"
        assert "cannot be called again" in body["message"]
        assert body["message_i18n"]["ru"].startswith("заказ в статусе")
        audit = (await anna.get("/dashboard/api/audit"))["entries"]
        reopen = next(e for e in audit if e.get("reopened") == 1)
        assert reopen["user"] == "anna" and reopen["order_id"] == "R-1" and reopen["attempts"] == 2
    finally:
        await anna.close()


async def test_phone_on_the_do_not_call_list_is_not_reopened(box):
    anna = await Supervisor.login(box.url, "anna")
    try:
        await box.push_order(order("R-2", "+79161230302"))
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
        await wait_status(box, "R-2", OrderStatus.EXHAUSTED)
        async with anna.http.put(
            f"{box.url}/api/v1/dnc/+79161230302", json={}, headers={"X-CSRF-Token": anna.csrf}
        ) as r:
            assert r.status in (200, 201)
        status, body = await anna.post("/dashboard/api/orders/R-2/retry", {"attempts": 1})
        assert status == 409 and body["why"] == "dnc_listed"
        assert (await box.store.get_order("R-2")).status is OrderStatus.EXHAUSTED
    finally:
        await anna.close()


async def test_follow_up_queue_take_note_resolve(box):
    anna = await Supervisor.login(box.url, "anna")
    ivan = await Supervisor.login(box.url, "ivan")
    boris = await Supervisor.login(box.url, "boris")
    try:
        await box.push_order(order("U-1", "+79161230401"))
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.NO_ANSWER, "rang out, no answer")
        await wait_status(box, "U-1", OrderStatus.EXHAUSTED)
        await box.push_order(order("U-2", "+79161230402"))  # ringing: not in the queue
        assert (await box.next_call()).order_id == "U-2"
        q = await anna.get("/dashboard/api/followups")
        assert [(f["order_id"], f["reason"], f["state"]) for f in q["followups"]] == [
            ("U-1", "exhausted", "open")
        ]
        assert q["counts"] == {"open": 1, "taken": 0, "resolved": 0}
        assert q["followups"][0]["phone"] == "+7916***0401"

        status, f = await anna.post("/dashboard/api/followups/U-1/take")
        assert status == 200 and f["state"] == "taken" and f["taken_by"] == "anna"
        status, body = await ivan.post("/dashboard/api/followups/U-1/take")
        assert status == 409 and body["taken_by"] == "anna"
        assert body["message_i18n"]["ru"] == "заказом U-1 уже занимается anna"
        status, _ = await boris.post("/dashboard/api/followups/U-1/take")
        assert status == 403  # viewers watch
        status, f = await anna.post(
            "/dashboard/api/followups/U-1/note",
            {"text": "Позвонила, клиент в отпуске до понедельника"},
        )
        assert status == 200 and f["notes"] == 1
        assert f["notes_list"][0]["by"] == "anna"
        status, body = await anna.post("/dashboard/api/followups/U-1/resolve", {"resolution": "x"})
        assert status == 422 and body["field"] == "resolution"
        status, f = await anna.post(
            "/dashboard/api/followups/U-1/resolve",
            {"resolution": "done", "note": "Перенесли доставку"},
        )
        assert status == 200 and f["state"] == "resolved" and f["resolved_by"] == "anna"
        assert f["notes"] == 2
        assert (await anna.get("/dashboard/api/followups"))["followups"] == []
        done = (await anna.get("/dashboard/api/followups?state=resolved"))["followups"]
        assert [x["order_id"] for x in done] == ["U-1"]
        status, body = await anna.post("/dashboard/api/followups/U-2/take")
        assert status == 409 and body["error"] == "not_needed"

        audit = (await anna.get("/dashboard/api/audit"))["entries"]
        steps = [(e["action"], e["user"]) for e in audit if e["action"].startswith("followup_")]
        assert steps[::-1] == [
            ("followup_take", "anna"),
            ("followup_take", "ivan"),
            ("followup_note", "anna"),
            ("followup_resolve", "anna"),
            ("followup_resolve", "anna"),
            ("followup_take", "anna"),
        ]
        resolved = next(
            e for e in audit if e["action"] == "followup_resolve" and e["status"] == 200
        )
        assert resolved["resolution"] == "done" and resolved["order_id"] == "U-1" and resolved["at"]

        # Reopened and exhausted again: a new round, open again, notes kept.
        await anna.post("/dashboard/api/orders/U-1/retry", {"attempts": 1})
        req = await box.next_call()
        box.originator.fail(req.call_id, Outcome.BUSY, "busy")
        await wait_status(box, "U-1", OrderStatus.EXHAUSTED)
        f = await anna.get("/dashboard/api/followups/U-1")
        assert f["state"] == "open" and f["reopened"] == 1 and f["notes"] == 2
    finally:
        for s in (anna, ivan, boris):
            await s.close()
