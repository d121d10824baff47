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

from datetime import date

from robot.core import numerals, numerals_ko
from robot.core.langpack import RequestedChange
from robot.core.models import Order
from robot.core.prompt_phrases import PHRASES
from robot.core.prompt_pieces import (  # Piece and Prompt are used from here too
    GLUE,
    Glue,
    Item,
    Piece,
    Prompt,
    id_keys,
    ko_day,
    ko_time,
    ko_words,
    phrase,
    when_ru,
    words,
)
from robot.core.purpose_prompts import plan_purpose, purpose_clip_texts
from robot.core.purposes import Purpose, builtin_purposes
from robot.core.speech_text import order_id_runs, speakable_name, speakable_summary

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
    Prompt.GOODBYE_INFORMED: "goodbye_informed",
}


def clip_texts(lang: str) -> dict[str, str]:
    """Every clip of a language, key -> the words it says (the recording script)."""
    if lang not in PHRASES:
        raise KeyError(f"no prompts for language {lang!r}")
    texts = {f"{lang}/phrase/{k}": v for k, v in PHRASES[lang].items()}
    texts.update({f"{lang}/{k}": v for k, v in _WORDS[lang].items()})
    return dict(sorted(texts.items()))


# Order fields enter the plan only through robot.core.speech_text: markup, emoji and control
# characters never reach the synthesizer, and what cannot be said is left out.
_NO_NUMBER_LEAD = {
    "calling_to_confirm": "calling_to_confirm_order",
    "confirm_order_number": "confirm_order",
    "order_number": "order",
}


def _details_ru(order: Order, today: date, lead: str) -> list[Item]:
    """ "заказ номер 12 34 на сумму 2 490 рублей, доставка завтра"."""
    number = id_keys(order.order_id, numerals.ru_order_number_keys)
    items: list[Item] = [phrase("ru", lead if number else _NO_NUMBER_LEAD[lead])]
    items += words("ru", number or [])
    items += [phrase("ru", "for_amount")]
    items += words("ru", numerals.ru_amount_keys(order.amount, order.currency))
    if order.delivery_date:
        items += [",", phrase("ru", "delivery")]
        items += words("ru", numerals.ru_date_keys(order.delivery_date, today))
    return [*items, "."]


def _details_ko(order: Order, today: date) -> list[Item]:
    """ "주문 번호 일이 삼사, 금액 이천사백구십 원, 배송은 내일입니다"."""
    items: list[Item] = []
    if (runs := order_id_runs(order.order_id)) is not None:
        items += [phrase("ko", "order_number")]
        for run in runs:
            items += ko_words(numerals_ko.ko_order_number_words(run))
        items += [","]
    items += [phrase("ko", "amount")]
    items += ko_words(numerals_ko.ko_amount_words(order.amount, order.currency))
    if order.delivery_date:
        items += [",", phrase("ko", "delivery")]
        items += ko_words(numerals_ko.ko_date_words(order.delivery_date, today))
    return [*items, GLUE, phrase("ko", "is"), "."]


def _when_ru(change: RequestedChange, order: Order, today: date) -> list[Item]:
    """The day (the requested one, else the order's own delivery date) and time read back."""
    return when_ru(change.date or order.delivery_date, change.after, change.before, today)


def _question_ru() -> list[Item]:
    return [phrase("ru", "question"), phrase("ru", "say_yes_no")]


def _answer_ru(prompt: Prompt, order: Order, today: date) -> list[Item]:
    if prompt is Prompt.ANSWER_DELIVERY:
        if order.delivery_date is None:
            return [phrase("ru", "delivery_unknown"), *_question_ru()]
        days = numerals.ru_date_keys(order.delivery_date, today)
        return [phrase("ru", "delivery_is"), *words("ru", days), ".", *_question_ru()]
    if prompt is Prompt.ANSWER_AMOUNT:
        amount = numerals.ru_amount_keys(order.amount, order.currency)
        return [phrase("ru", "amount_is"), ":", *words("ru", amount), ".", *_question_ru()]
    if prompt is Prompt.ANSWER_ITEMS and (summary := speakable_summary(order.items_summary, "ru")):
        return [phrase("ru", "items"), ":", Piece("tts", summary), ".", *_question_ru()]
    if prompt in (Prompt.ANSWER_ITEMS, Prompt.ANSWER_SHOP):
        items: list[Item] = []
        if shop := speakable_name(order.shop_name, "ru"):
            items += [phrase("ru", "shop_is"), Piece("tts", shop), ","]
        items += _details_ru(order, today, "order_number")
        return [*items, *_question_ru()]
    lead = "ask_operator" if prompt is Prompt.ANSWER_OPERATOR else "ask_shop"
    return [phrase("ru", lead), *_question_ru()]


def _plan_ru(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None
) -> list[Item]:
    if prompt is Prompt.CONFIRM_CHANGE:
        when = _when_ru(change or RequestedChange(), order, today)
        return [phrase("ru", "deliver_order"), *when, "?", phrase("ru", "yes_or_no")]
    if prompt is Prompt.CHANGE_DECLINED:
        return [
            phrase("ru", "sorry_misunderstood"),
            *_plan_ru(Prompt.REPROMPT, order, today, None),
        ]
    if prompt.value.startswith("answer_"):
        return _answer_ru(prompt, order, today)
    if prompt is Prompt.MACHINE_MESSAGE:
        items: list[Item] = [phrase("ru", "machine_hello")]
        if shop := speakable_name(order.shop_name, "ru"):
            items += [Piece("tts", shop)]
        if number := id_keys(order.order_id, numerals.ru_order_number_keys):
            items += [",", phrase("ru", "machine_about_order"), *words("ru", number)]
        return [*items, ".", phrase("ru", "machine_call_back")]
    if prompt is Prompt.INTRO:
        items = [phrase("ru", "hello")]
        if name := speakable_name(order.customer_name, "ru"):
            items += [",", Piece("tts", name)]
        items += ["!"]
        if shop := speakable_name(order.shop_name, "ru"):
            items += [phrase("ru", "this_is_shop"), Piece("tts", shop), "."]
        items += _details_ru(order, today, "calling_to_confirm")
        if summary := speakable_summary(order.items_summary, "ru"):
            items += [phrase("ru", "items"), ":", Piece("tts", summary), "."]
        return [*items, phrase("ru", "question"), phrase("ru", "say_yes_no")]
    if prompt is Prompt.REPROMPT:
        items = _details_ru(order, today, "confirm_order_number")[:-1]
        return [*items, "?", phrase("ru", "please_say_yes_no")]
    if prompt is Prompt.REPROMPT_2:
        return [phrase("ru", "reprompt_2")]
    if prompt is Prompt.REPEAT_ORDER:
        items = [phrase("ru", "repeating"), ":", *_details_ru(order, today, "order_number")]
        return [*items, phrase("ru", "question"), phrase("ru", "say_yes_no")]
    return [phrase("ru", _GOODBYES[prompt])]


def _when_ko(change: RequestedChange, order: Order, today: date) -> list[Item]:
    """ "십이월 육일 일요일 오후 여덟 시 이후로"."""
    items: list[Item] = []
    day = change.date or order.delivery_date
    if day is not None:
        items += ko_day(day, today)
    after = ko_time(change.after) if change.after else []
    before = ko_time(change.before) if change.before else []
    if after and before:
        items += [*after, GLUE, phrase("ko", "time_from"), *before, GLUE]
        items += [phrase("ko", "time_until")]
    elif after:
        items += [*after, phrase("ko", "time_after")]
    elif before:
        items += [*before, phrase("ko", "time_before")]
    return items


def _question_ko() -> list[Item]:
    return [phrase("ko", "question"), phrase("ko", "say_yes_no")]


def _answer_ko(prompt: Prompt, order: Order, today: date) -> list[Item]:
    if prompt is Prompt.ANSWER_DELIVERY:
        if order.delivery_date is None:
            return [phrase("ko", "delivery_unknown"), *_question_ko()]
        days = ko_words(numerals_ko.ko_date_words(order.delivery_date, today))
        return [phrase("ko", "delivery"), *days, GLUE, phrase("ko", "is"), ".", *_question_ko()]
    if prompt is Prompt.ANSWER_AMOUNT:
        amount = ko_words(numerals_ko.ko_amount_words(order.amount, order.currency))
        return [
            phrase("ko", "amount_is"),
            *amount,
            GLUE,
            phrase("ko", "is"),
            ".",
            *_question_ko(),
        ]
    if prompt is Prompt.ANSWER_ITEMS and (summary := speakable_summary(order.items_summary, "ko")):
        items: list[Item] = [phrase("ko", "items"), Piece("tts", summary), GLUE]
        return [*items, phrase("ko", "is"), ".", *_question_ko()]
    if prompt in (Prompt.ANSWER_ITEMS, Prompt.ANSWER_SHOP):
        items = []
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), GLUE, phrase("ko", "calling_from"), "."]
        return [*items, *_details_ko(order, today), *_question_ko()]
    lead = "ask_operator" if prompt is Prompt.ANSWER_OPERATOR else "ask_shop"
    return [phrase("ko", lead), *_question_ko()]


def _plan_ko(
    prompt: Prompt, order: Order, today: date, change: RequestedChange | None
) -> list[Item]:
    if prompt is Prompt.CONFIRM_CHANGE:
        when = _when_ko(change or RequestedChange(), order, today)
        lead, ask = phrase("ko", "change_delivery"), phrase("ko", "change_question")
        return [lead, *when, ask, phrase("ko", "please_say_yes_no")]
    if prompt is Prompt.CHANGE_DECLINED:
        return [
            phrase("ko", "sorry_misunderstood"),
            *_plan_ko(Prompt.REPROMPT, order, today, None),
        ]
    if prompt.value.startswith("answer_"):
        return _answer_ko(prompt, order, today)
    items: list[Item] = []
    if prompt is Prompt.MACHINE_MESSAGE:
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), GLUE, phrase("ko", "from_shop")]
        if (runs := order_id_runs(order.order_id)) is not None:
            items += [phrase("ko", "order_number")]
            for run in runs:
                items += ko_words(numerals_ko.ko_order_number_words(run))
        return [*items, phrase("ko", "machine_call_back")]
    if prompt is Prompt.INTRO:
        if name := speakable_name(order.customer_name, "ko"):
            items += [Piece("tts", name), phrase("ko", "customer"), ","]
        items += [phrase("ko", "hello"), "."]
        if shop := speakable_name(order.shop_name, "ko"):
            items += [Piece("tts", shop), GLUE, phrase("ko", "calling_from"), "."]
        items += _details_ko(order, today)
        if summary := speakable_summary(order.items_summary, "ko"):
            items += [phrase("ko", "items"), Piece("tts", summary), GLUE, phrase("ko", "is")]
            items += ["."]
        return [*items, phrase("ko", "question"), phrase("ko", "say_yes_no")]
    if prompt is Prompt.REPROMPT:
        items = _details_ko(order, today)
        return [*items, phrase("ko", "confirm_question"), phrase("ko", "please_say_yes_no")]
    if prompt is Prompt.REPROMPT_2:
        return [phrase("ko", "reprompt_2")]
    if prompt is Prompt.REPEAT_ORDER:
        items = [phrase("ko", "repeating"), ".", *_details_ko(order, today)]
        return [*items, phrase("ko", "question"), phrase("ko", "say_yes_no")]
    return [phrase("ko", _GOODBYES[prompt])]


def _build(
    prompt: Prompt,
    order: Order,
    today: date,
    change: RequestedChange | None = None,
    purpose: Purpose | None = None,
) -> tuple[str, list[Item]]:
    lang = order.language
    if prompt is Prompt.INTRO_RECORDED:
        _, intro = _build(Prompt.INTRO, order, today, None, purpose)
        return lang, [phrase(lang, "recording_notice"), *intro]
    purpose = purpose or builtin_purposes().get(order.purpose)
    if purpose is not None and (own := plan_purpose(purpose, prompt, order, today)) is not None:
        return lang, own
    if lang == "ru":
        return lang, _plan_ru(prompt, order, today, change)
    if lang == "ko":
        return lang, _plan_ko(prompt, order, today, change)
    raise KeyError(f"no prompts for language {lang!r}")


def plan_prompt(
    prompt: Prompt,
    order: Order,
    today: date,
    change: RequestedChange | None = None,
    purpose: Purpose | None = None,
) -> list[Piece]:
    """The audio pieces of ``prompt`` for ``order``, in the order's language. ``change``: what
    ``CONFIRM_CHANGE`` reads back; ``purpose``: the call's (default: the built-in one the order
    names), whose own wording replaces the built-in one where it has some."""
    _, items = _build(prompt, order, today, change, purpose)
    return [item for item in items if isinstance(item, Piece)]


def prompt_text(
    prompt: Prompt,
    order: Order,
    today: date,
    change: RequestedChange | None = None,
    purpose: Purpose | None = None,
) -> str:
    """The sentence the pieces say, punctuated."""
    lang, items = _build(prompt, order, today, change, purpose)
    texts = {**clip_texts(lang), **purpose_clip_texts(lang)}
    out = ""
    glue = False
    for item in items:
        if isinstance(item, Glue):
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
