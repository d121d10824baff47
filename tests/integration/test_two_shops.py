"""Two shops on one installation never see or sign each other's orders (issue 10, done-when):
real Redis, the robot's real Asterisk with a SIP trunk to a second Asterisk playing the
carrier, the real service, and each shop's stand-in CRM on 127.0.0.1.

The shops differ in every per-shop setting: API token, webhook URL and secret, caller ID and
calling hours. Checked: each token reads and creates only its own shop's orders; the carrier
sees each shop's call with that shop's caller ID (From and P-Asserted-Identity); a shop's
order outside its hours is not dialed (and the policy says until when); every result reaches
only its own shop's CRM, signed with its own secret (a CRM counts signatures it cannot
verify); a change of a shop's hours through the API applies without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from robot.adapters.webhook import verify
from robot.config import AsteriskServerConfig, Settings
from robot.devtools.asterisk.carrier import TrunkSpec, dial_template, running_carrier
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import Crm
from robot.testing import free_port, free_udp_port

from .callstack import AMI_SECRET, TOKEN, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

A, B = "Ромашка", "Лютик"
TOKENS = {A: "romashka-token-0123456789", B: "lyutik-token-9876543210"}
SECRETS = {A: "romashka-webhook-secret", B: "lyutik-webhook-secret"}
CALLER = {A: ("+74951110001", "Romashka"), B: ("+74952220002", "Lyutik")}
TRUNK_ID = '"Trunk" <+74950000009>'


class ShopCrm(Crm):
    """The demo's stand-in CRM (it answers 401 to a signature its secret does not verify),
    keeping every raw body and signature as they arrived."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.raw: list[tuple[bytes, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.raw.append((await request.read(), request.headers.get("X-Dozvon-Signature", "")))
        return await super().handle(request)


@contextlib.asynccontextmanager
async def shop_crms() -> AsyncIterator[dict[str, tuple[ShopCrm, str]]]:
    """Each shop's CRM, checking its own shop's secret: name -> (crm, webhook URL)."""
    runners, out = [], {}
    try:
        for shop in (A, B):
            crm, port = ShopCrm(SECRETS[shop]), free_port()
            app = web.Application()
            app.router.add_post("/hook", crm.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
            out[shop] = (crm, f"http://127.0.0.1:{port}/hook")
        yield out
    finally:
        for runner in runners:
            await runner.cleanup()


def closed_now_hours(now: datetime) -> str:
    """A one-hour UTC window six hours from now: the shop is closed at the moment."""
    start = (now.hour + 6) % 24
    return f"{start:02d}:00-{start + 1:02d}:00"


async def until_final(crm: ShopCrm, order_id: str) -> dict[str, Any]:
    async with asyncio.timeout(120):
        while order_id not in crm.final_by_order():
            crm.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(crm.changed.wait(), 0.5)
    return crm.final_by_order()[order_id]


async def test_two_shops_never_see_or_sign_each_others_orders(tmp_path: Path) -> None:
    base = Settings()
    spec = TrunkSpec("127.0.0.1", free_udp_port(), free_udp_port())
    ami_port = free_port()
    now = datetime.now(UTC)
    async with shop_crms() as crms:
        shops = {
            A: {"api_token": TOKENS[A], "webhook_url": crms[A][1], "webhook_secret": SECRETS[A],
                "caller_id": f'"{CALLER[A][1]}" <{CALLER[A][0]}>', "hours": "00:00-24:00",
                "timezone": "UTC"},
            B: {"api_token": TOKENS[B], "webhook_url": crms[B][1], "webhook_secret": SECRETS[B],
                "caller_id": f'"{CALLER[B][1]}" <{CALLER[B][0]}>',
                "hours": closed_now_hours(now), "timezone": "UTC"},
        }  # fmt: skip
        shops_file = tmp_path / "shops.json"
        shops_file.write_text(json.dumps(shops, ensure_ascii=False), encoding="utf-8")
        server = AsteriskServerConfig(
            name="trunk", ami_port=ami_port, secret=AMI_SECRET,
            dial_template=dial_template("alaw"), caller_id=TRUNK_ID,
        )  # fmt: skip
        async with (
            running_carrier(
                spec,
                base.asterisk_root,
                base.audio_dir,
                instance=f"it-carrier-{spec.carrier_sip_port}",
            ) as carrier,
            call_stack(
                trunk=spec,
                ami_port=ami_port,
                asterisk_servers=[server],
                ring_timeout_s=8,
                shops_file=shops_file,
            ) as stack,
        ):
            http, api = stack.http, stack.api

            async def req(
                method: str, path: str, shop: str | None, body: Any = None
            ) -> tuple[int, Any]:
                token = TOKENS[shop] if shop else TOKEN
                auth = {"Authorization": f"Bearer {token}"}
                async with http.request(method, f"{api}{path}", json=body, headers=auth) as r:
                    return r.status, await r.json()

            # -- tokens: each shop creates and reads only its own orders ------------------------
            a1 = order("A-1", "+79165550104", shop_name=A)  # "04": answers, presses 1
            b1 = order("B-1", "+79165550204", shop_name=B)  # outside Лютик's hours
            assert (await req("POST", "/api/v1/orders", A, a1))[0] == 201
            assert (await req("POST", "/api/v1/orders", B, b1))[0] == 201
            status, body = await req("POST", "/api/v1/orders", A,
                                     order("A-X", "+79165550199", shop_name=B))  # fmt: skip
            assert status == 403 and body["field"] == "shop_name", body
            assert (await req("GET", "/api/v1/orders/A-1", A))[0] == 200
            assert (await req("GET", "/api/v1/orders/B-1", B))[0] == 200
            assert (await req("GET", "/api/v1/orders/B-1", A))[0] == 404
            assert (await req("GET", "/api/v1/orders/A-1", B))[0] == 404
            assert (await req("GET", "/api/v1/orders/A-X", None))[0] == 404  # nothing was made

            # -- hours: Лютик's order waits for its window; Ромашка's is called now -------------
            ev_a1 = await until_final(crms[A][0], "A-1")
            assert ev_a1["status"] == "confirmed" and ev_a1["shop_name"] == A
            status, explain = await req("GET", "/api/v1/orders/B-1/explain", None)
            assert status == 200 and explain["action"] == "wait", explain
            opens = datetime.fromisoformat(explain["at"])
            assert opens.hour == int(shops[B]["hours"][:2]) and opens > now, explain
            assert carrier.calls.for_number("79165550204") == []

            # -- a change of hours through the API: the next order of Лютик is called at once ---
            status, saved = await req("PUT", f"/api/v1/shops/{B}", None,
                                      {**shops[B], "hours": "00:00-24:00"})  # fmt: skip
            assert status == 200 and saved["api_token"] != TOKENS[B], saved
            b2 = order("B-2", "+79165550304", shop_name=B)
            assert (await req("POST", "/api/v1/orders", B, b2))[0] == 201
            ev_b2 = await until_final(crms[B][0], "B-2")
            assert ev_b2["status"] == "confirmed" and ev_b2["shop_name"] == B

            # -- caller ID on the carrier's side: each shop's own -------------------------------
            for shop, digits in ((A, "79165550104"), (B, "79165550304")):
                (seen,) = carrier.calls.for_number(digits)
                number, name = CALLER[shop]
                assert (seen.caller_id_num, seen.caller_id_name) == (number, name), (shop, seen)
                assert f"sip:{number}@" in seen.from_header and name in seen.pai, seen

            # -- results: only to the shop's own CRM, signed only with its secret ---------------
            for shop, other in ((A, B), (B, A)):
                crm = crms[shop][0]
                assert crm.bad_signatures == 0, shop
                assert {e["order_id"] for e in crm.events} == ({"A-1"} if shop == A else {"B-2"})
                assert all(e["shop_name"] == shop for e in crm.events)
                assert len(crm.raw) == len(crm.events) >= 1  # its order.final at least
                for body, signature in crm.raw:
                    assert verify(body, SECRETS[shop], signature)
                    assert not verify(body, SECRETS[other], signature)
                    assert not verify(body, stack.settings.webhook_secret, signature)
            assert stack.crm.events == []  # the installation's CRM got no shop's results
            assert stack.crm.bad_signatures == 0
