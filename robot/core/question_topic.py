"""Which fact of the order a customer's question asks about, if the order can answer it.

The language pack says *that* a reply is a question (``Intent.QUESTION``); this says *what*
it asks, so the dialog can answer from the order itself: the delivery day, the amount, the
items or who is calling. Anything else ("курьер позвонит заранее?", "можно картой?") has no
answer in the order: the dialog offers the operator instead.

Cues are word stems (Russian inflects, Korean glues particles), checked in a fixed order:
time before money, because "во сколько" asks when and "сколько" asks how much. Russian and
Korean are written in different scripts, so one table serves both without ambiguity. Pure.
"""

from __future__ import annotations

import re
from enum import Enum


class Topic(str, Enum):
    """What the order can tell a customer who asks."""

    DELIVERY = "delivery"  # when it arrives
    AMOUNT = "amount"  # how much it costs
    ITEMS = "items"  # what was ordered
    SHOP = "shop"  # who is calling, which shop, which order


_CUES: tuple[tuple[Topic, re.Pattern[str]], ...] = (
    (
        Topic.DELIVERY,
        re.compile(
            r"когда|во сколько|в какое время|как(ого|ое|ой) числ|\bчисл|\bдат[аеуыой]\b"
            r"|в какой день|какой день|привез|приед|придет"
            r"|언제|날짜|며칠|몇\s?시|배송(일|날|은|이)|도착"
        ),
    ),
    (
        Topic.AMOUNT,
        re.compile(
            r"сколько|\bсумм|стоимост|\bцен[аыуе]\b|почем|\bстоит|к оплате|заплатить"
            r"|얼마|금액|가격|결제"
        ),
    ),
    (
        Topic.ITEMS,
        re.compile(
            r"что (я |мы |вы |там |именно )?(заказ|купил|брал|в заказе|там|за товар)"
            r"|какой товар|какие товары|что в заказе|состав|\bтовар|позици|что за заказ"
            r"|뭐(를|을)?\s?(주문|샀|시켰)|무엇|상품|물건|뭘\s?(주문|샀|시켰)"
        ),
    ),
    (
        Topic.SHOP,
        re.compile(
            r"магазин|кто (это|звонит|говорит)|откуда (вы|звоните)|вы кто|какой заказ"
            r"|어디(에서|서|세요|시죠)|가게|쇼핑몰|누구(세요|시죠)"
        ),
    ),
)


def question_topic(text: str) -> Topic | None:
    """The order fact ``text`` asks about, or None when the order cannot answer it."""
    said = " ".join(text.lower().replace("ё", "е").split())
    for topic, cue in _CUES:
        if cue.search(said):
            return topic
    return None
