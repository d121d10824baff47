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
from datetime import date
from enum import Enum
from typing import Literal

from robot.core import numerals, numerals_ko
from robot.core.models import Order
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


@dataclass(frozen=True)
class Piece:
    kind: Literal["clip", "tts"]  # clip: a pre-recorded file key; tts: text to synthesize
    value: str


class _Glue:
    """Joins the neighbouring words without a space (Korean particles, number words)."""


_GLUE = _Glue()
# A plan under construction: pieces, punctuation marks (text only) and glue (text only).
_Item = Piece | str | _Glue

PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "hello": "Здравствуйте",
        "recording_notice": "Разговор записывается.",
        "this_is_shop": "Это магазин",
        "calling_to_confirm": "Звоню подтвердить заказ номер",
        "calling_to_confirm_order": "Звоню подтвердить заказ",
        "order_number": "заказ номер",
        "order": "заказ",
        "for_amount": "на сумму",
        "delivery": "доставка",
        "items": "В заказе",
        "question": "Вы подтверждаете заказ?",
        "say_yes_no": "Скажите да или нет, или нажмите один или два.",
        "confirm_order_number": "Подтверждаете заказ номер",
        "confirm_order": "Подтверждаете заказ",
        "please_say_yes_no": "Пожалуйста, скажите да или нет, или нажмите один или два.",
        "reprompt_2": "Если заказ верный, скажите да или нажмите один. "
        "Если хотите отменить заказ, скажите нет или нажмите два.",
        "repeating": "Повторяю",
        "goodbye_confirmed": "Спасибо, заказ подтверждён. Хорошего дня, до свидания!",
        "goodbye_rejected": "Хорошо, заказ будет отменён. Спасибо, до свидания!",
        "goodbye_unclear": "К сожалению, не удалось получить ответ. "
        "С вами свяжется менеджер магазина. До свидания!",
        "goodbye_dnc": "Хорошо, больше не будем вам звонить. "
        "Извините за беспокойство, до свидания!",
        "transfer": "Соединяю с оператором. Пожалуйста, оставайтесь на линии.",
        "goodbye_later": "Хорошо, мы перезвоним позже. До свидания!",
    },
    "ko": {
        "hello": "안녕하세요",
        "recording_notice": "통화 내용이 녹음됩니다.",
        "customer": "고객님",
        "calling_from": "에서 전화드렸습니다",
        "order_number": "주문 번호",
        "amount": "금액",
        "delivery": "배송은",
        "is": "입니다",
        "items": "주문 상품은",
        "question": "주문 내용이 맞으신가요?",
        "say_yes_no": "네 또는 아니요로 말씀해 주시거나, 일 번 또는 이 번을 눌러 주세요.",
        "confirm_question": "이 주문을 확정할까요?",
        "please_say_yes_no": "네 또는 아니요로 답해 주세요.",
        "reprompt_2": "주문이 맞으면 네, 또는 일 번을 눌러 주세요. "
        "취소하시려면 아니요, 또는 이 번을 눌러 주세요.",
        "repeating": "다시 말씀드리겠습니다",
        "goodbye_confirmed": "감사합니다. 주문이 확인되었습니다. 좋은 하루 보내세요.",
        "goodbye_rejected": "알겠습니다. 주문을 취소하겠습니다. 감사합니다.",
        "goodbye_unclear": "답변을 확인하지 못했습니다. "
        "담당자가 다시 연락드리겠습니다. 감사합니다.",
        "goodbye_dnc": "알겠습니다. 앞으로 전화드리지 않겠습니다. 불편을 드려 죄송합니다.",
        "transfer": "상담원에게 연결해 드리겠습니다. 잠시만 기다려 주세요.",
        "goodbye_later": "알겠습니다. 나중에 다시 전화드리겠습니다. 감사합니다.",
    },
}
_WORDS = {"ru": numerals.RU_WORDS, "ko": numerals_ko.KO_WORDS}
_GOODBYES = {
    Prompt.GOODBYE_CONFIRMED: "goodbye_confirmed",
    Prompt.GOODBYE_REJECTED: "goodbye_rejected",
    Prompt.GOODBYE_UNCLEAR: "goodbye_unclear",
    Prompt.GOODBYE_DNC: "goodbye_dnc",
    Prompt.TRANSFER: "transfer",
    Prompt.GOODBYE_LATER: "goodbye_later",
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


def _plan_ru(prompt: Prompt, order: Order, today: date) -> list[_Item]:
    if prompt is Prompt.INTRO:
        items: list[_Item] = [_phrase("ru", "hello")]
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


def _plan_ko(prompt: Prompt, order: Order, today: date) -> list[_Item]:
    if prompt is Prompt.INTRO:
        items: list[_Item] = []
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


def _build(prompt: Prompt, order: Order, today: date) -> tuple[str, list[_Item]]:
    lang = order.language
    if prompt is Prompt.INTRO_RECORDED:
        _, intro = _build(Prompt.INTRO, order, today)
        return lang, [_phrase(lang, "recording_notice"), *intro]
    if lang == "ru":
        return lang, _plan_ru(prompt, order, today)
    if lang == "ko":
        return lang, _plan_ko(prompt, order, today)
    raise KeyError(f"no prompts for language {lang!r}")


def plan_prompt(prompt: Prompt, order: Order, today: date) -> list[Piece]:
    """The audio pieces of ``prompt`` for ``order``, in the order's language."""
    _, items = _build(prompt, order, today)
    return [item for item in items if isinstance(item, Piece)]


def prompt_text(prompt: Prompt, order: Order, today: date) -> str:
    """The sentence the pieces say, punctuated."""
    lang, items = _build(prompt, order, today)
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
