"""Helpers for tests of the HTTP surface (``robot.web``) through aiohttp's test client."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient


async def sse_event(resp: ClientResponse) -> tuple[str, Any]:
    """The next ``event:``/``data:`` pair of a server-sent event stream."""
    event = ""
    while True:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])


async def login(client: TestClient[Any, Any], name: str, password: str) -> str:
    """Sign in on the dashboard's form; returns the session's CSRF token."""
    page = await client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found is not None, "no CSRF field on the login page"
    form = {"username": name, "password": password, "csrf": found.group(1)}
    resp = await client.post("/login", data=form, allow_redirects=False)
    assert resp.status == 302, await resp.text()
    me = await (await client.get("/dashboard/api/me")).json()
    return str(me["csrf"])
