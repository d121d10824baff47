"""What the robot says: each prompt planned as a list of audio pieces, and as text.

A plan is a list of :class:`Piece`: ``clip`` pieces name a pre-recorded file
(``ru/phrase/hello``, ``ru/num/2f``, ``ko/cur/krw``; see ``audio/prompts/<lang>.tsv``) and
``tts`` pieces carry free text synthesized at call time and cached (only what cannot be
recorded ahead: the shop's name, the customer's name, the items summary). Numbers, sums,
order numbers and dates are always said from clips, word by word, using the word keys of
``robot.core.numerals``; so ``clip_texts`` (every clip and its words) is built from the same
tables, and ``prompt_text`` is the exact sentence the clips say, for transcripts and logs.

Pure: no I/O; ``today`` is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from enum import Enum
from typing import Literal

from robot.core import numerals, numerals_ko
from robot.core.langpack import RequestedChange
from robot.core.models import Order
from robot.core.prompt_phrases import PHRASES
from robot.core.speech_text import order_id_runs, speakable_name, speakable_summary


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


@dataclass(frozen=True)
class Piece:
    kind: Literal["clip", "tts"]  # clip: a pre-recorded file key; tts: text to synthesize
    value: str


class _Glue:
    """Joins the neighbouring words without a space (Korean particles, number words)."""


_GLUE = _Glue()
# A plan under construction: pieces, punctuation marks (text only) and glue (text only).
_Item = Piece | str | _Glue

_WORDS = {"ru": numerals.RU_WORDS, "ko": numerals_ko.KO_WORDS}
_GOODBYES = {
    Prompt.GOODBYE_CONFIRMED: "goodbye_confirmed",
    Prompt.GOODBYE_REJECTED: "goodbye_rejected",
    Prompt.GOODBYE_UNCLEAR: "goodbye_unclear",
    Prompt.GOODBYE_DNC: "goodbye_dnc",
    Prompt.TRANSFER: "transfer",
    Prompt.GOODBYE_LATER: "goodbye_later",
    Prompt.GOODBYE_CHANGED: "goodbye_changed",
    Prompt.CHANGE_HANDOVER: "change_handover",
    Prompt.CHANGE_TRANSFER: "change_transfer",
    Prompt.GOODBYE_WRONG_NUMBER: "goodbye_wrong_number",
    Prompt.GOODBYE_NOT_ORDERED: "goodbye_not_ordered",
}


def clip_texts(lang: str) -> dict[str, str]:
    """Every clip of a language, key -> the words it says (the recording script)."""
    if lang not in PHRASES:
        raise KeyError(f"no prompts for language {lang!r}")
    texts = {f"{lang}/phrase/{k}": v for k, v in PHRASES[lang].items()}
    texts.update({f"{lang}/{k}": v for k, v in _WORDS[lang].items()})
    return dict(sorted(texts.items()))


def _phrase(lang: str, name: str) -> Piece:
    return Piece("clip", f"{lang}/phrase/{name}")


def _words(lang: str, keys: list[str]) -> list[_Item]:
    return [Piece("clip", f"{lang}/{k}") for k in keys]


def _ko_words(words: list[list[str]]) -> list[_Item]:
    out: list[_Item] = []
    for word in words:
        for i, key in enumerate(word):
            if i:
                out.append(_GLUE)
            out.append(Piece("clip", f"ko/{key}"))
    return out


# Order fields enter the plan only through robot.core.speech_text: markup, emoji and control
# characters never reach the synthesizer, and what cannot be said is left out.
_NO_NUMBER_LEAD = {
    "calling_to_confirm": "calling_to_confirm_order",
    "confirm_order_number": "confirm_order",
    "order_number": "order",
}


def _id_keys(order: Order, reader: Callable[[str], list[str]]) -> list[str] | None:
    runs = order_id_runs(order.order_id)
    return None if runs is None else [k for run in runs for k in reader(run)]


def _details_ru(order: Order, today: date, lead: str) -> list[_Item]:
    """ "заказ номер 12 34 на сумму 2 490 рублей, доставка завтра"."""
    number = _id_keys(order, numerals.ru_order_number_keys)
    items: list[_Item] = [_phrase("ru", lead if number else _NO_NUMBER_LEAD[lead])]
    items += _words("ru", number or [])
    items += [_phrase("ru", "for_amount")]
    items += _words("ru", numerals.ru_amount_keys(order.amount, order.currency))
    if order.delivery_date:
        items += [",", _phrase("ru", "delivery")]
        items += _words("ru", numerals.ru_date_keys(order.delivery_date, today))
    return [*items, "."]


def _details_ko(order: Order, today: date) -> list[_Item]:
    """ "주문 번호 일이 삼사, 금액 이천사백구십 원, 배송은 내일입니다"."""
    items: list[_Item] = []
    if (runs := order_id_runs(order.order_id)) is not None:
        items += [_phrase("ko", "order_number")]
        for run in runs:
            items += _ko_words(numerals_ko.ko_order_number_words(run))
        items += [","]
    items += [_phrase("ko", "amount")]
    items += _ko_words(numerals_ko.ko_amount_words(order.amount, order.currency))
    if order.delivery_date:
        items += [",", _phrase("ko", "delivery")]
        items += _ko_words(numerals_ko.ko_date_words(order.delivery_date, today))
    return [*items, _GLUE, _phrase("ko", "is"), "."]


def _when_ru(change: RequestedChange, order: Order, today: date) -> list[_Item]:
    """ "в воскресенье, шестого декабря, после двадцати часов" (the day: the requested one,
    else the order's own delivery date)."""
    items: list[_Item] = []
    day = change.date or order.delivery_date
    if day is not None:
        keys = numerals.ru_date_keys(day, today)
        if keys[0].startswith("date/"):  # завтра, послезавтра
            items += _words("ru", keys)
        else:
            items += [*_words("ru", [numerals.ru_weekday_key(day)]), ","]
            items += _words("ru", keys)
    if change.after and change.before:
        items += [
            ",",
            _phrase("ru", "time_from"),
            *_words("ru", numerals.ru_time_keys(change.after)),
        ]
        items += [_phrase("ru", "time_before"), *_hours_ru(change.before)]
    elif change.after:
        items += [",", _phrase("ru", "time_after"), *_hours_ru(change.after)]
    elif change.before:
        items += [",", _phrase("ru", "time_before"), *_hours_ru(change.before)]
    return items


def _hours_ru(moment: time) -> list[_Item]:
    items = _words("ru", numerals.ru_time_keys(moment))
    if moment.minute:
        return items
    return [
        *items,
        _phrase("ru", "hours_1" if moment.hour % 10 == 1 and moment.hour != 11 else "hours_5"),
    ]


def _question_ru() -> list[_Item]:
    return [_phrase("ru", "question"), _phrase("ru", "say_yes_no")]


def _answer_ru(prompt: Prompt, order: Order, today: date) -> list[_Item]:
    if prompt is Prompt.ANSWER_DELIVERY:
        if order.delivery_date is None:
            return [_phrase("ru", "delivery_unknown"), *_question_ru()]
        days = numerals.ru_date_keys(order.delivery_date, today)
        return [_phrase("ru", "delivery_is"), *_words("ru", days), ".", *_question_ru()]
    if prompt is Prompt.ANSWER_AMOUNT:
        amount = numerals.ru_amount_keys(order.amount, order.currency)
        return [_phrase("ru", "amount_is"), ":", *_words("ru", amount), ".", *_question_ru()]
    if prompt is Prompt.ANSWER_ITEMS and (summary := speakable_summary(order.items_summary, "ru")):
        return [_phrase("ru", "items"), ":", Piece("tts", summary), ".", *_question_ru()]
    if prompt in (Prompt.ANSWER_ITEMS, Prompt.ANSWER_SHOP):
        items: list[_Item] = []
        if shop := speakable_name(order.shop_name, "ru"):
            items += [_phrase("ru", "shop_is"), Piece("tts", shop), ","]
        items += _details_ru(order, today, "order_number")
        return [*items, *_question_ru()]
    lead = "ask_operator" if prompt is Prompt.ANSWER_OPERATOR else "ask_shop"
    return [_phrase("ru", lead), *_question_ru()]


def _plan_ru(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None
) -> list[_Item]:
    if prompt is Prompt.CONFIRM_CHANGE:
        when = _when_ru(change or RequestedChange(), order, today)
        return [_phrase("ru", "deliver_order"), *when, "?", _phrase("ru", "yes_or_no")]
    if prompt is Prompt.CHANGE_DECLINED:
        return [
            _phrase("ru", "sorry_misunderstood"),
            *_plan_ru(Prompt.REPROMPT, order, today, None),
        ]
    if prompt.value.startswith("answer_"):
        return _answer_ru(prompt, order, today)
    if prompt is Prompt.MACHINE_MESSAGE:
        items: list[_Item] = [_phrase("ru", "machine_hello")]
        if shop := speakable_name(order.shop_name, "ru"):
            items += [Piece("tts", shop)]
        if number := _id_keys(order, numerals.ru_order_number_keys):
            items += [",", _phrase("ru", "machine_about_order"), *_words("ru", number)]
        return [*items, ".", _phrase("ru", "machine_call_back")]
    if prompt is Prompt.INTRO:
        items = [_phrase("ru", "hello")]
        if name := speakable_name(order.customer_name, "ru"):
            items += [",", Piece("tts", name)]
        items += ["!"]
        if shop := speakable_name(order.shop_name, "ru"):
            items += [_phrase("ru", "this_is_shop"), Piece("tts", shop), "."]
        items += _details_ru(order, today, "calling_to_confirm")
        if summary := speakable_summary(order.items_summary, "ru"):
            items += [_phrase("ru", "items"), ":", Piece("tts", summary), "."]
        return [*items, _phrase("ru", "question"), _phrase("ru", "say_yes_no")]
    if prompt is Prompt.REPROMPT:
        items = _details_ru(order, today, "confirm_order_number")[:-1]
        return [*items, "?", _phrase("ru", "please_say_yes_no")]
    if prompt is Prompt.REPROMPT_2:
        return [_phrase("ru", "reprompt_2")]
    if prompt is Prompt.REPEAT_ORDER:
        items = [_phrase("ru", "repeating"), ":", *_details_ru(order, today, "order_number")]
        return [*items, _phrase("ru", "question"), _phrase("ru", "say_yes_no")]
    return [_phrase("ru", _GOODBYES[prompt])]


def _when_ko(change: RequestedChange, order: Order, today: date) -> list[_Item]:
    """ "십이월 육일 일요일 오후 여덟 시 이후로"."""
    items: list[_Item] = []
    day = change.date or order.delivery_date
    if day is not None:
        words = numerals_ko.ko_date_words(day, today)
        items += _ko_words(words)
        if not words[0][0].startswith("date/"):
            items += _words("ko", [numerals_ko.ko_weekday_key(day)])
    after = _ko_words(numerals_ko.ko_time_words(change.after)) if change.after else []
    before = _ko_words(numerals_ko.ko_time_words(change.before)) if change.before else []
    if after and before:
        items += [*after, _GLUE, _phrase("ko", "time_from"), *before, _GLUE]
        items += [_phrase("ko", "time_until")]
    elif after:
        items += [*after, _phrase("ko", "time_after")]
    elif before:
        items += [*before, _phrase("ko", "time_before")]
    return items


def _question_ko() -> list[_Item]:
    return [_phrase("ko", "question"), _phrase("ko", "say_yes_no")]


def _answer_ko(prompt: Prompt, order: Order, today: date) -> list[_Item]:
    if prompt is Prompt.ANSWER_DELIVERY:
        if order.delivery_date is None:
            return [_phrase("ko", "delivery_unknown"), *_question_ko()]
        days = _ko_words(numerals_ko.ko_date_words(order.delivery_date, today))
        return [_phrase("ko", "delivery"), *days, _GLUE, _phrase("ko", "is"), ".", *_question_ko()]
    if prompt is Prompt.ANSWER_AMOUNT:
        amount = _ko_words(numerals_ko.ko_amount_words(order.amount, order.currency))
        return [
            _phrase("ko", "amount_is"),
            *amount,
            _GLUE,
            _phrase("ko", "is"),
            ".",
            *_question_ko(),
        ]
    if prompt is Prompt.ANSWER_ITEMS and (summary := speakable_summary(order.items_summary, "ko")):
        items: list[_Item] = [_phrase("ko", "items"), Piece("tts", summary), _GLUE]
        return [*items, _phrase("ko", "is"), ".", *_question_ko()]
    if prompt in (Prompt.ANSWER_ITEMS, Prompt.ANSWER_SHOP):
        items = []
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), _GLUE, _phrase("ko", "calling_from"), "."]
        return [*items, *_details_ko(order, today), *_question_ko()]
    lead = "ask_operator" if prompt is Prompt.ANSWER_OPERATOR else "ask_shop"
    return [_phrase("ko", lead), *_question_ko()]


def _plan_ko(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None
) -> list[_Item]:
    if prompt is Prompt.CONFIRM_CHANGE:
        when = _when_ko(change or RequestedChange(), order, today)
        lead, ask = _phrase("ko", "change_delivery"), _phrase("ko", "change_question")
        return [lead, *when, ask, _phrase("ko", "please_say_yes_no")]
    if prompt is Prompt.CHANGE_DECLINED:
        return [
            _phrase("ko", "sorry_misunderstood"),
            *_plan_ko(Prompt.REPROMPT, order, today, None),
        ]
    if prompt.value.startswith("answer_"):
        return _answer_ko(prompt, order, today)
    items: list[_Item] = []
    if prompt is Prompt.MACHINE_MESSAGE:
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), _GLUE, _phrase("ko", "from_shop")]
        if (runs := order_id_runs(order.order_id)) is not None:
            items += [_phrase("ko", "order_number")]
            for run in runs:
                items += _ko_words(numerals_ko.ko_order_number_words(run))
        return [*items, _phrase("ko", "machine_call_back")]
    if prompt is Prompt.INTRO:
        if name := speakable_name(order.customer_name, "ko"):
            items += [Piece("tts", name), _phrase("ko", "customer"), ","]
        items += [_phrase("ko", "hello"), "."]
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), _GLUE, _phrase("ko", "calling_from"), "."]
        items += _details_ko(order, today)
        if summary := speakable_summary(order.items_summary, "ko"):
            items += [_phrase("ko", "items"), Piece("tts", summary), _GLUE, _phrase("ko", "is")]
            items += ["."]
        return [*items, _phrase("ko", "question"), _phrase("ko", "say_yes_no")]
    if prompt is Prompt.REPROMPT:
        items = _details_ko(order, today)
        return [*items, _phrase("ko", "confirm_question"), _phrase("ko", "please_say_yes_no")]
    if prompt is Prompt.REPROMPT_2:
        return [_phrase("ko", "reprompt_2")]
    if prompt is Prompt.REPEAT_ORDER:
        items = [_phrase("ko", "repeating"), ".", *_details_ko(order, today)]
        return [*items, _phrase("ko", "question"), _phrase("ko", "say_yes_no")]
    return [_phrase("ko", _GOODBYES[prompt])]


def _build(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
) -> tuple[str, list[_Item]]:
    lang = order.language
    if prompt is Prompt.INTRO_RECORDED:
        _, intro = _build(Prompt.INTRO, order, today)
        return lang, [_phrase(lang, "recording_notice"), *intro]
    if lang == "ru":
        return lang, _plan_ru(prompt, order, today, change)
    if lang == "ko":
        return lang, _plan_ko(prompt, order, today, change)
    raise KeyError(f"no prompts for language {lang!r}")


def plan_prompt(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
) -> list[Piece]:
    """The audio pieces of ``prompt`` for ``order``, in the order's language. ``change``: what
    ``CONFIRM_CHANGE`` reads back."""
    _, items = _build(prompt, order, today, change)
    return [item for item in items if isinstance(item, Piece)]


def prompt_text(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None = None
) -> str:
    """The sentence the pieces say, punctuated."""
    lang, items = _build(prompt, order, today, change)
    texts = clip_texts(lang)
    out = ""
    glue = False
    for item in items:
        if isinstance(item, _Glue):
            glue = True
            continue
        if isinstance(item, str):
            out = out.rstrip(".,:!?") + item if item in ".!?" else out + item
            continue
        word = texts[item.value] if item.kind == "clip" else item.value
        if out and not glue:
            out += " "
        out += word
        glue = False
    return _tidy(out)


def _tidy(text: str) -> str:
    # A clip ending a sentence ("...один или два.") already carries its own full stop.
    for mark in ("..", ".!", ".?", "!.", "?."):
        text = text.replace(mark, mark[1] if mark[0] == "." else mark[0])
    return text.strip()
