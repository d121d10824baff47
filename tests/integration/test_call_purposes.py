"""Call purposes end to end: HTTP intake of orders with a purpose and its fields -> AMI
Originate -> real Asterisk -> simulated customer (dialplans/extensions.conf) -> AudioSocket ->
the purpose's dialog and prompts -> Redis -> the stand-in CRM's signed webhooks, which carry the
purpose and the CRM status the call was about.

- ``pickup`` (ru, scenario 03: the customer listens and says nothing): the pickup message is
  said to its end, then thanks; outcome ``informed``.
- ``storage`` (ko, scenario 04: the customer presses 1 after the message): ``informed``.
- ``courier`` (ru, scenario 16: a change, then yes): the courier's slot is said, the customer
  asks for another day and time, the robot reads it back, yes: ``changed`` with that slot. The
  customer's words enter at the recognizer port (robot.testing.ScriptedRecognizer), as in
  test_call_replies.py: the installed model may not hear Russian.

The orders carry ``crm_status`` and the fields directly (the status event that sets them is
``POST /api/v1/orders/{id}/status``, tested with the order's lifecycle).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from robot.config import Settings
from robot.devtools.asterisk.runtime import environment_problem
from robot.testing import ScriptedRecognizer

from .callstack import call_stack, order
from .test_call_replies import ScriptsByOrder, robot_lines

log = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.timeout(400),
    pytest.mark.asyncio(loop_scope="module"),
]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

ZONE = "Europe/Moscow"
CHANGE = "давайте лучше послезавтра с двенадцати до шестнадцати"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def calls():
    async with call_stack() as stack:
        now = datetime.now(ZoneInfo(ZONE))
        today = now.date()
        tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), ZoneInfo(ZONE))
        orders = {
            "pickup": order(
                "770103", "+7916555" "0103", timezone=ZONE, purpose="pickup_ready",
                crm_status="ready_for_pickup", pickup_point="улица Ленина, дом пять",
                storage_until=(today + timedelta(days=10)).isoformat(),
            ),
            "storage": order(
                "770204", "+82105555" "0204", language="ko", timezone="Asia/Seoul",
                purpose="storage_ending", crm_status="storage_ending",
                storage_until=(today + timedelta(days=2)).isoformat(),
            ),
            "courier": order(
                "770316", "+7916555" "0316", timezone=ZONE, purpose="courier_slot",
                crm_status="courier_assigned",
                slot_from=(tomorrow + timedelta(hours=10)).isoformat(),
                slot_to=(tomorrow + timedelta(hours=14)).isoformat(),
            ),
        }  # fmt: skip
        scripts = {o["order_id"]: [] for o in orders.values()}
        scripts["770316"] = [CHANGE, "да"]
        real = stack.service.dialer.recognizer
        assert real is not None, "the call stack has no recognizer"
        stack.service.dialer.recognizer = ScriptedRecognizer(
            real, ScriptsByOrder(stack, scripts), languages=("ru",)
        )
        for body in orders.values():
            await stack.push(body)
            await asyncio.sleep(1.5)  # one answer at a time (see ScriptsByOrder)
        finals = {name: await stack.final(o["order_id"], timeout_s=150) for name, o in
                  orders.items()}  # fmt: skip
        assert stack.crm.bad_signatures == 0
        by_order = {
            o["order_id"]: [e for e in stack.crm.events if e["order_id"] == o["order_id"]]
            for o in orders.values()
        }
        yield finals, by_order, today


async def test_pickup_ready_is_informed_once_the_message_was_heard(calls) -> None:
    finals, _, _ = calls
    event = finals["pickup"]
    assert event["event"] == "order.final" and event["status"] == "informed", event
    assert event["call"]["outcome"] == "informed"
    assert event["call"]["reason"].startswith("heard the message to its end")
    lines = robot_lines(event)
    message = lines[0]
    assert "Ваш заказ семьдесят семь ноль один ноль три ждёт вас в пункте выдачи по адресу улица" \
        " Ленина" in message, message  # fmt: skip
    assert "хранится до" in message and "Чтобы прослушать ещё раз" in message
    assert lines[-1] == "robot: Спасибо, что выслушали. Хорошего дня, до свидания!"
    assert "подтверждаете" not in " ".join(lines)  # nothing of the confirm call


async def test_the_confirming_key_informs_in_korean(calls) -> None:
    finals, _, _ = calls
    event = finals["storage"]
    assert event["status"] == "informed" and event["call"]["outcome"] == "informed", event
    assert event["call"]["reason"] == "dtmf 1"
    assert "상품 보관 기간이 모레에 끝납니다" in robot_lines(event)[0]


async def test_courier_slot_change_is_read_back_and_sent_with_the_slot(calls) -> None:
    finals, _, today = calls
    event = finals["courier"]
    assert event["status"] == "changed" and event["call"]["outcome"] == "changed", event
    lines = robot_lines(event)
    assert "Курьер привезёт ваш заказ" in lines[0] and "завтра, с десяти до четырнадцати часов" \
        in lines[0], lines  # fmt: skip
    read_back = [line for line in lines if "Доставить заказ" in line]
    assert read_back and "с двенадцати до шестнадцати часов" in read_back[0], lines
    change = event["requested_change"]
    assert change["text"] == CHANGE
    assert change["date"] == (today + timedelta(days=2)).isoformat()
    assert (change["after"], change["before"]) == ("12:00", "16:00")


async def test_every_webhook_names_the_purpose_and_the_crm_status(calls) -> None:
    _, by_order, _ = calls
    want = {
        "770103": ("pickup_ready", "ready_for_pickup"),
        "770204": ("storage_ending", "storage_ending"),
        "770316": ("courier_slot", "courier_assigned"),
    }
    for order_id, (purpose, status) in want.items():
        events = by_order[order_id]
        assert events, order_id
        for event in events:
            assert (event["purpose"], event["crm_status"]) == (purpose, status), event
            if event.get("call"):
                assert event["call"]["purpose"] == purpose
