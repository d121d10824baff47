"""Prompt plans (robot.core.prompts): every clip they name exists in the recording script
(audio/prompts/<lang>.tsv), every clip there is used, and the text matches the clips."""

from __future__ import annotations

import dataclasses
import random
import string
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from robot.core.langpack import RequestedChange
from robot.core.models import Order
from robot.core.numerals_ko import ko_amount_keys
from robot.core.prompts import Piece, Prompt, clip_texts, plan_prompt, prompt_text
from robot.testing import make_order

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2024, 11, 20)
LANGS = ("ru", "ko")
CURRENCIES = ("RUB", "USD", "EUR", "KZT", "KRW", "GBP")


def order(lang: str = "ru", **kw: Any) -> Order:
    return make_order(lang, TODAY, **kw)


def read_tsv(lang: str) -> dict[str, str]:
    lines = (REPO / "audio" / "prompts" / f"{lang}.tsv").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if line.strip())


def amounts() -> list[Decimal]:
    rng = random.Random(7)
    values = {Decimal(n) for n in range(0, 2100)}
    values |= {Decimal(10**k) for k in range(12)} | {Decimal(2 * 10**k) for k in range(12)}
    values |= {Decimal(rng.randrange(0, 10**7)) for _ in range(3000)}
    values |= {Decimal(rng.randrange(0, 10**12)) for _ in range(300)}
    values |= {Decimal(rng.randrange(0, 10**6)) / 100 for _ in range(300)}
    values |= {Decimal(n) / 100 for n in range(1, 100)}
    return sorted(values)


def order_ids() -> list[str]:
    rng = random.Random(3)
    ids = ["7", "12", "100", "1234", "0012", "100500", "12345678"]
    # Every letter, in ids of letter and digit runs (a long letters-only id is not read out)
    ids += [f"{string.ascii_lowercase[i : i + 3]}-{i}" for i in range(0, 26, 3)]
    ids += [
        "confirmation",
        "3f2a9c1e-77b0-4c1d-9a2e-5b6c7d8e9f00",
    ]  # not readable: said without a number
    ids += [str(rng.randrange(10**9)) for _ in range(200)]
    ids += [f"A-{n}" for n in range(10)]
    return ids


def sweep(lang: str) -> set[str]:
    """Every clip key the planner uses over many orders."""
    used: set[str] = set()
    name, items = ("Анна", "чайник") if lang == "ru" else ("지민", "주전자")
    base = order(lang, customer_name=name, items_summary=items)
    orders = [base]
    orders += [order(lang, amount=a, currency=CURRENCIES[i % 6]) for i, a in enumerate(amounts())]
    orders += [order(lang, order_id=i) for i in order_ids()]
    orders += [order(lang, delivery_date=TODAY + timedelta(days=d)) for d in range(-3, 400)]
    orders += [order(lang, delivery_date=None, customer_name=None)]
    for o in orders:
        for prompt in Prompt:
            used |= {p.value for p in plan_prompt(prompt, o, TODAY) if p.kind == "clip"}
    for change in changes():
        pieces = plan_prompt(Prompt.CONFIRM_CHANGE, base, TODAY, change)
        used |= {p.value for p in pieces if p.kind == "clip"}
    return used


def changes() -> list[RequestedChange]:
    """Requested days and times over a week and every minute of the day."""
    out = [RequestedChange(TODAY + timedelta(days=d)) for d in range(0, 9)]
    for minute in range(24 * 60):
        t = time(minute // 60, minute % 60)
        out += [RequestedChange(after=t), RequestedChange(before=t)]
    out.append(RequestedChange(TODAY + timedelta(days=5), after=time(9), before=time(13)))
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_tsv_is_the_clip_inventory(lang: str) -> None:
    """scripts/build_audio.py writes the TSV from clip_texts; it must be current."""
    assert read_tsv(lang) == clip_texts(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_plans_use_only_existing_clips_and_all_of_them(lang: str) -> None:
    inventory = set(read_tsv(lang))
    used = sweep(lang)
    if lang == "ko":  # 조 (10^12) is beyond what an order may hold (12 integer digits)
        used |= {f"ko/{k}" for k in ko_amount_keys(10**12)}
    assert used - inventory == set()
    assert inventory - used == set()


@pytest.mark.parametrize("lang", LANGS)
def test_every_clip_has_a_wav(lang: str) -> None:
    missing = [k for k in read_tsv(lang) if not (REPO / "audio" / f"{k}.wav").is_file()]
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("prompt", list(Prompt))
def test_tts_only_for_names(lang: str, prompt: Prompt) -> None:
    o = order(lang, customer_name="Анна", items_summary="чайник и кружка")
    tts = [p.value for p in plan_prompt(prompt, o, TODAY) if p.kind == "tts"]
    assert set(tts) <= {o.shop_name, "Анна", "чайник и кружка"}
    text = prompt_text(prompt, o, TODAY)
    assert text and "  " not in text and ".." not in text


def test_ru_intro_text() -> None:
    o = order("ru", customer_name="Анна")
    assert prompt_text(Prompt.INTRO, o, TODAY) == (
        "Здравствуйте, Анна! Это магазин Ромашка. Звоню подтвердить заказ номер двенадцать "
        "тридцать четыре на сумму две тысячи четыреста девяносто рублей, доставка завтра. "
        "Вы подтверждаете заказ? Скажите да или нет, или нажмите один или два."
    )


def test_ru_intro_plan() -> None:
    pieces = plan_prompt(Prompt.INTRO, order("ru", customer_name=None), TODAY)
    assert pieces[:3] == [
        Piece("clip", "ru/phrase/hello"),
        Piece("clip", "ru/phrase/this_is_shop"),
        Piece("tts", "Ромашка"),
    ]
    keys = [p.value for p in pieces]
    i = keys.index("ru/phrase/for_amount")
    assert keys[i + 1 : i + 6] == [
        "ru/num/2f", "ru/thousand/2", "ru/num/400", "ru/num/90", "ru/cur/rub/5",
    ]  # fmt: skip
    assert keys[-2:] == ["ru/phrase/question", "ru/phrase/say_yes_no"]


def test_ko_intro_text() -> None:
    o = order("ko", customer_name="김민수", delivery_date=date(2024, 11, 23))
    assert prompt_text(Prompt.INTRO, o, TODAY) == (
        "김민수 고객님, 안녕하세요. 쿠팡에서 전화드렸습니다. 주문 번호 일이 삼사, "
        "금액 이천사백구십 원, 배송은 십일월 이십삼일입니다. 주문 내용이 맞으신가요? "
        "네 또는 아니요로 말씀해 주시거나, 일 번 또는 이 번을 눌러 주세요."
    )


def test_without_delivery_date_or_name() -> None:
    o = order("ru", delivery_date=None)
    text = prompt_text(Prompt.INTRO, o, TODAY)
    assert "доставка" not in text and text.startswith("Здравствуйте! Это магазин")
    assert "рублей. Вы подтверждаете" in text
    ko = prompt_text(Prompt.REPEAT_ORDER, order("ko", delivery_date=None), TODAY)
    assert "배송" not in ko and "원입니다." in ko


def test_reprompts_differ_from_the_intro() -> None:
    o = order("ru")
    texts = {prompt_text(p, o, TODAY) for p in (Prompt.INTRO, Prompt.REPROMPT, Prompt.REPROMPT_2)}
    assert len(texts) == 3
    assert prompt_text(Prompt.REPROMPT, o, TODAY).startswith("Подтверждаете заказ номер")


def test_goodbyes_are_single_clips() -> None:
    for prompt in (Prompt.GOODBYE_CONFIRMED, Prompt.GOODBYE_DNC, Prompt.TRANSFER):
        assert plan_prompt(prompt, order("ru"), TODAY) == [
            Piece("clip", f"ru/phrase/{prompt.value}")
        ]


def test_piece_is_frozen() -> None:
    piece = Piece("clip", "ru/phrase/hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        piece.value = "x"  # type: ignore[misc]
    assert Prompt.INTRO == "intro"


def test_change_read_back_text() -> None:
    o = order("ru")
    sunday = RequestedChange(date(2024, 11, 24), after=time(20))
    assert prompt_text(Prompt.CONFIRM_CHANGE, o, TODAY, sunday) == (
        "Доставить заказ в воскресенье, двадцать четвёртого ноября, после двадцати часов? "
        "Скажите да или нет."
    )
    window = RequestedChange(after=time(9), before=time(13, 30))
    assert prompt_text(Prompt.CONFIRM_CHANGE, o, TODAY, window) == (
        "Доставить заказ завтра, с девяти до тринадцати тридцати? Скажите да или нет."
    )
    early = RequestedChange(date(2024, 11, 29), before=time(21))
    assert "в пятницу, двадцать девятого ноября, до двадцати одного часа?" in prompt_text(
        Prompt.CONFIRM_CHANGE, o, TODAY, early
    )
    ko = prompt_text(Prompt.CONFIRM_CHANGE, order("ko"), TODAY, sunday)
    assert ko.startswith("배송을 십일월 이십사일 일요일 오후 여덟 시 이후로 변경할까요?")


def test_answers_come_from_the_order() -> None:
    o = order("ru", items_summary="чайник")
    assert prompt_text(Prompt.ANSWER_ITEMS, o, TODAY).startswith("В заказе: чайник.")
    assert prompt_text(Prompt.ANSWER_DELIVERY, o, TODAY).startswith("Доставка завтра.")
    no_date = order("ru", delivery_date=None)
    assert "магазин сообщит" in prompt_text(Prompt.ANSWER_DELIVERY, no_date, TODAY)
    for prompt in (Prompt.ANSWER_AMOUNT, Prompt.ANSWER_OPERATOR, Prompt.ANSWER_SHOP):
        assert prompt_text(prompt, o, TODAY).endswith("нажмите один или два.")
    machine = prompt_text(Prompt.MACHINE_MESSAGE, o, TODAY)
    assert "Ромашка" in machine and "двенадцать тридцать четыре" in machine
    assert "подтверждаете" not in machine
