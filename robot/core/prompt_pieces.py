"""The building blocks of prompt plans: what can be said, the pieces a plan is made of, and the
readings of days, times and order numbers shared by every plan (``robot.core.prompts`` for the
built-in wording, ``robot.core.purpose_prompts`` for the wording of a purpose file).

A plan is a list of :class:`Piece` (a clip key, or text to synthesize), punctuation marks
(text only) and :data:`GLUE` (text only: joins the neighbouring words without a space, as
Korean particles and number words are written). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from enum import Enum
from typing import Literal

from robot.core import numerals, numerals_ko
from robot.core.speech_text import order_id_runs


class Prompt(str, Enum):
    """Everything the robot can say during a call."""

    INTRO = "intro"  # greeting, who is calling, the order, the question
    INTRO_RECORDED = "intro_recorded"  # the intro, opened by "this call is recorded"
    REPROMPT = "reprompt"  # the question again, in other words, after silence/noise
    REPROMPT_2 = "reprompt_2"  # the last try: spells out what to say or press
    GOODBYE_CONFIRMED = "goodbye_confirmed"  # thanks, the order is confirmed
    GOODBYE_REJECTED = "goodbye_rejected"  # the order will be cancelled
    GOODBYE_UNCLEAR = "goodbye_unclear"  # no usable answer; the shop will follow up
    GOODBYE_DNC = "goodbye_dnc"  # we will not call again
    REPEAT_ORDER = "repeat_order"  # the order details again, then the question
    TRANSFER = "transfer"  # connecting to a human
    GOODBYE_LATER = "goodbye_later"  # we will call back later
    # Replies beyond yes and no.
    CONFIRM_CHANGE = "confirm_change"  # the requested day/time read back: "Верно?"
    GOODBYE_CHANGED = "goodbye_changed"  # the change is passed to the shop
    CHANGE_HANDOVER = "change_handover"  # an address / unreadable change, no operator: noted
    CHANGE_TRANSFER = "change_transfer"  # an address / unreadable change: to the operator
    CHANGE_DECLINED = "change_declined"  # "no" to the read-back: sorry, the question again
    ANSWER_DELIVERY = "answer_delivery"  # a question answered from the order, then the question
    ANSWER_AMOUNT = "answer_amount"
    ANSWER_ITEMS = "answer_items"
    ANSWER_SHOP = "answer_shop"
    ANSWER_OPERATOR = "answer_operator"  # not answerable from the order: offer the operator
    ANSWER_SHOP_LATER = "answer_shop_later"  # not answerable, no operator: the shop will
    GOODBYE_WRONG_NUMBER = "goodbye_wrong_number"  # sorry for the trouble
    GOODBYE_NOT_ORDERED = "goodbye_not_ordered"  # thanks, the shop will be told
    MACHINE_MESSAGE = "machine_message"  # one sentence for an answering assistant
    GOODBYE_INFORMED = "goodbye_informed"  # an informing purpose's message was heard: thanks


@dataclass(frozen=True)
class Piece:
    kind: Literal["clip", "tts"]  # clip: a pre-recorded file key; tts: text to synthesize
    value: str
    # tts only: the clip key a shop may record this text under (a purpose's own wording,
    # robot.core.purpose_prompts); its recording then plays instead of the synthesized text.
    key: str | None = None


class Glue:
    """Joins the neighbouring words without a space (Korean particles, number words)."""


GLUE = Glue()
# A plan under construction: pieces, punctuation marks (text only) and glue (text only).
Item = Piece | str | Glue


def phrase(lang: str, name: str) -> Piece:
    return Piece("clip", f"{lang}/phrase/{name}")


def words(lang: str, keys: list[str]) -> list[Item]:
    return [Piece("clip", f"{lang}/{k}") for k in keys]


def ko_words(groups: list[list[str]]) -> list[Item]:
    out: list[Item] = []
    for word in groups:
        for i, key in enumerate(word):
            if i:
                out.append(GLUE)
            out.append(Piece("clip", f"ko/{key}"))
    return out


def id_keys(order_id: str, reader: Callable[[str], list[str]]) -> list[str] | None:
    """Word keys of a sayable order number, or None (robot.core.speech_text.order_id_runs)."""
    runs = order_id_runs(order_id)
    return None if runs is None else [k for run in runs for k in reader(run)]


def ko_order_number(order_id: str) -> list[Item]:
    items: list[Item] = []
    for run in order_id_runs(order_id) or []:
        items += ko_words(numerals_ko.ko_order_number_words(run))
    return items


def hours_ru(moment: time) -> list[Item]:
    """ "двадцати часов", "восемнадцати тридцати" (as after "после", "до")."""
    items = words("ru", numerals.ru_time_keys(moment))
    if moment.minute:
        return items
    return [
        *items,
        phrase("ru", "hours_1" if moment.hour % 10 == 1 and moment.hour != 11 else "hours_5"),
    ]


def when_ru(day: date | None, after: time | None, before: time | None, today: date) -> list[Item]:
    """ "в воскресенье, шестого декабря, после двадцати часов", "завтра, с десяти до
    четырнадцати часов"."""
    items: list[Item] = []
    if day is not None:
        keys = numerals.ru_date_keys(day, today)
        if keys[0].startswith("date/"):  # завтра, послезавтра
            items += words("ru", keys)
        else:
            items += [*words("ru", [numerals.ru_weekday_key(day)]), ","]
            items += words("ru", keys)
    if after and before:
        items += [",", phrase("ru", "time_from"), *words("ru", numerals.ru_time_keys(after))]
        items += [phrase("ru", "time_before"), *hours_ru(before)]
    elif after:
        items += [",", phrase("ru", "time_after"), *hours_ru(after)]
    elif before:
        items += [",", phrase("ru", "time_before"), *hours_ru(before)]
    return items


def ko_day(day: date, today: date) -> list[Item]:
    """ "내일" or "십이월 육일 일요일"."""
    groups = numerals_ko.ko_date_words(day, today)
    items = ko_words(groups)
    if not groups[0][0].startswith("date/"):
        items += words("ko", [numerals_ko.ko_weekday_key(day)])
    return items


def ko_time(moment: time) -> list[Item]:
    return ko_words(numerals_ko.ko_time_words(moment))
