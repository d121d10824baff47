"""A purpose's own wording planned as audio (robot.core.purpose_prompts): the built-in runs are
recorded clips listed in audio/prompts/<lang>.purposes.tsv, a shop's wording is synthesized
under a key it may record, and the order's fields are said naturally."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from robot.core.models import Order
from robot.core.prompts import Piece, Prompt, clip_texts, plan_prompt, prompt_text
from robot.core.purpose_prompts import purpose_clip_texts
from robot.core.purposes import build, builtin_purposes
from robot.testing import make_order

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)
LANGS = ("ru", "ko")
# 10:00-14:00 in Moscow tomorrow, as a CRM in another zone might send it.
SLOT = (datetime(2026, 12, 2, 7, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC))


def order(lang: str = "ru", **kw: Any) -> Order:
    fields: dict[str, Any] = dict(
        customer_name="Анна" if lang == "ru" else "지민",
        pickup_point="ул. Ленина, 5" if lang == "ru" else "강남역",
        storage_until=date(2026, 12, 12),
        slot_from=SLOT[0],
        slot_to=SLOT[1],
        timezone="Europe/Moscow",
    )
    return make_order(lang, TODAY, **(fields | kw))


def read_tsv(lang: str) -> dict[str, str]:
    path = REPO / "audio" / "prompts" / f"{lang}.purposes.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if line.strip())


def variants(lang: str) -> list[Order]:
    """Orders with and without each field a built-in line may need."""
    base = order(lang)
    return [
        base,
        order(lang, storage_until=None),
        order(lang, pickup_point=None),
        order(lang, pickup_point=None, storage_until=None),
        order(lang, order_id="3f2a9c1e-77b0-4c1d-9a2e-5b6c7d8e9f00"),
        order(lang, order_id="3f2a9c1e-77b0-4c1d-9a2e-5b6c7d8e9f00", pickup_point=None),
        order(lang, slot_from=None, slot_to=None),
        order(lang, storage_until=TODAY + timedelta(days=1)),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_tsv_is_the_purposes_clip_inventory(lang: str) -> None:
    """scripts/build_audio.py writes it from the built-in purpose files; it must be current."""
    assert read_tsv(lang) == purpose_clip_texts(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_every_purpose_clip_has_a_wav_and_is_used(lang: str) -> None:
    inventory = set(read_tsv(lang))
    assert [k for k in inventory if not (REPO / "audio" / f"{k}.wav").is_file()] == []
    used: set[str] = set()
    known = set(clip_texts(lang)) | inventory
    for name in ("pickup_ready", "courier_slot", "storage_ending"):
        for base in variants(lang):
            o = base.model_copy(update={"purpose": name})
            for prompt in Prompt:
                pieces = plan_prompt(prompt, o, TODAY)
                clips = {p.value for p in pieces if p.kind == "clip"}
                assert clips <= known, (name, prompt, clips - known)
                # Built-in wording is never synthesized: only names and addresses are.
                tts = {p.value for p in pieces if p.kind == "tts"}
                assert tts <= {o.shop_name, o.customer_name, o.pickup_point}, (name, prompt, tts)
                used |= clips
    assert inventory - used == set()


def test_pickup_ready_says_the_order_the_address_and_the_day_naturally() -> None:
    text = prompt_text(Prompt.INTRO, order(purpose="pickup_ready"), TODAY)
    assert text == (
        "Здравствуйте, Анна! Это магазин Ромашка. Ваш заказ двенадцать тридцать четыре ждёт вас "
        "в пункте выдачи по адресу ул. Ленина, 5, хранится до двенадцатого декабря. Чтобы "
        "прослушать ещё раз, скажите повторить. Чтобы поговорить с оператором, скажите оператор "
        "или нажмите ноль."
    )
    again = prompt_text(Prompt.REPEAT_ORDER, order(purpose="pickup_ready"), TODAY)
    assert again.startswith("Повторяю. Ваш заказ двенадцать тридцать четыре ждёт вас")


def test_a_line_without_its_field_gives_way_to_the_next_alternative() -> None:
    o = order(purpose="pickup_ready", storage_until=None, pickup_point=None)
    text = prompt_text(Prompt.INTRO, o, TODAY)
    assert "Ваш заказ двенадцать тридцать четыре ждёт вас в пункте выдачи. Чтобы" in text
    assert "хранится" not in text and "адресу" not in text


def test_an_optional_part_is_left_out_without_its_field() -> None:
    unsayable = "3f2a9c1e-77b0-4c1d-9a2e-5b6c7d8e9f00"  # read as no number (speech_text)
    text = prompt_text(Prompt.INTRO, order(purpose="pickup_ready", order_id=unsayable), TODAY)
    assert "Ваш заказ ждёт вас в пункте выдачи по адресу ул. Ленина, 5, хранится до " in text
    o = order(purpose="pickup_ready", pickup_point=None)
    assert "ждёт вас в пункте выдачи, хранится до двенадцатого декабря." in prompt_text(
        Prompt.INTRO, o, TODAY
    )


def test_courier_slot_is_said_in_the_customers_zone() -> None:
    text = prompt_text(Prompt.INTRO, order(purpose="courier_slot"), TODAY)
    assert "Курьер привезёт ваш заказ двенадцать тридцать четыре завтра, с десяти до четырнадцати" \
        " часов. Вам удобно?" in text  # fmt: skip
    # Without the order's zone, and a phone number in many zones (+7 916), the time is said
    # as the CRM wrote it; a phone number in one zone (+82: Seoul) gives that zone.
    msk = timezone(timedelta(hours=3))
    crm = (SLOT[0].astimezone(msk), SLOT[1].astimezone(msk))
    plain = order(purpose="courier_slot", timezone=None, slot_from=crm[0], slot_to=crm[1])
    assert "с десяти до четырнадцати" in prompt_text(Prompt.INTRO, plain, TODAY)
    seoul = plain.model_copy(update={"phone": "+821012345678"})
    assert "с шестнадцати до двадцати часов" in prompt_text(Prompt.INTRO, seoul, TODAY)
    later = order(purpose="courier_slot", slot_from=SLOT[0] + timedelta(days=4), slot_to=None)
    assert "в воскресенье, шестого декабря, после десяти часов" in prompt_text(
        Prompt.INTRO, later, TODAY
    )


def test_korean_particles_are_joined_to_the_field() -> None:
    o = order("ko", purpose="pickup_ready")
    text = prompt_text(Prompt.INTRO, o, TODAY)
    assert "강남역 픽업 장소에 도착했습니다. 십이월 십이일까지 보관됩니다." in text
    slot = prompt_text(Prompt.INTRO, order("ko", purpose="courier_slot"), TODAY)
    assert "내일 오전 열 시부터 오후 두 시까지 배송해 드릴 예정입니다" in slot


def test_storage_ending_and_goodbye_informed() -> None:
    o = order(purpose="storage_ending", storage_until=TODAY + timedelta(days=1))
    assert "заканчивается завтра. Если заказ не забрать, он вернётся в магазин." in prompt_text(
        Prompt.INTRO, o, TODAY
    )
    assert prompt_text(Prompt.GOODBYE_INFORMED, o, TODAY) == (
        "Спасибо, что выслушали. Хорошего дня, до свидания!"
    )


def test_prompts_a_purpose_does_not_word_are_the_built_in_ones() -> None:
    o = order(purpose="courier_slot")
    confirm = o.model_copy(update={"purpose": "confirm"})
    for prompt in (Prompt.TRANSFER, Prompt.GOODBYE_DNC, Prompt.MACHINE_MESSAGE):
        assert plan_prompt(prompt, o, TODAY) == plan_prompt(prompt, confirm, TODAY)


def test_a_shops_wording_is_synthesized_under_a_key_it_can_record() -> None:
    lines = ["{greeting}", "Заказ {order_id} можно забрать до {storage_until}."]
    doc = builtin_purposes()["pickup_ready"].model_dump(mode="json")
    shop = build({**doc, "say": {"intro": {"ru": lines}}})
    pieces = plan_prompt(Prompt.INTRO, order(purpose="pickup_ready"), TODAY, purpose=shop)
    mine = [p for p in pieces if p.kind == "tts" and p.key]
    assert mine == [
        Piece("tts", "Заказ", "ru/purpose/pickup_ready/intro.1"),
        Piece("tts", "можно забрать до", "ru/purpose/pickup_ready/intro.2"),
    ]
    text = prompt_text(Prompt.INTRO, order(purpose="pickup_ready"), TODAY, purpose=shop)
    assert text.endswith("Заказ двенадцать тридцать четыре можно забрать до двенадцатого декабря.")


def test_a_builtin_run_reworded_is_not_played_from_the_old_clip() -> None:
    doc = builtin_purposes()["pickup_ready"].model_dump(mode="json")
    intro = doc["say"]["intro"]["ru"]
    doc["say"]["intro"]["ru"] = ["{greeting}", "Ваш заказ {order_id} скоро приедет.", intro[2]]
    pieces = plan_prompt(Prompt.INTRO, order(purpose="pickup_ready"), TODAY, purpose=build(doc))
    assert Piece("tts", "скоро приедет.", "ru/purpose/pickup_ready/intro.2") in pieces
    # The same words at the same key are still the recording.
    assert Piece("clip", "ru/purpose/pickup_ready/intro.1") in pieces
