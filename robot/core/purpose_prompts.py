"""A purpose's own wording (``say`` in a purpose file, ``robot.core.purposes``) planned as
audio pieces, like the built-in prompts of ``robot.core.prompts``.

A line is a template: text, and the order's fields in braces (:data:`FIELDS`). Each run of text
between fields is one clip, keyed ``<lang>/purpose/<purpose>/<prompt>.<n>`` (n counts the runs
of that prompt's lines in that language, alternatives included, from 1): the built-in purposes'
runs are recorded (``audio/<lang>/purpose/...``, listed in ``audio/prompts/<lang>.purposes.tsv``);
a run a shop wrote or reworded is synthesized, unless the shop recorded that key in its clips
directory (``robot.adapters.prompt_audio``). Fields are said the way the built-in prompts say
them: numbers, sums and dates from clips ("двенадцатого декабря", "завтра"), the courier's slot
as "завтра, с десяти до четырнадцати часов" in the customer's zone (the order's, else the
phone number's, else the offset the CRM sent), names and addresses synthesized. A line whose
field the order does not have is left out; a line given as a list of templates says the first
one whose fields are all there.

Korean particles written against a field ("{storage_until}까지") are joined to it without a
space, as the built-in Korean prompts join them. Pure.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from robot.core import numerals, numerals_ko
from robot.core.models import Order
from robot.core.prompt_pieces import (
    GLUE,
    Item,
    Piece,
    Prompt,
    hours_ru,
    id_keys,
    ko_day,
    ko_order_number,
    ko_time,
    ko_words,
    phrase,
    when_ru,
    words,
)
from robot.core.purposes import Purpose, builtin_purposes, customer_time
from robot.core.speech_text import speakable_name, speakable_summary

_MARKS = ".,:;!?"


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Run:
    """A run of text between fields: one clip."""

    key: str
    text: str
    glue_before: bool  # written against the field before it ("{storage_until}까지")
    glue_after: bool


@dataclass(frozen=True)
class _Group:
    """``[...]`` in a template: said only when every field in it has a value."""

    segments: list[_Segment]


# A template as segments: punctuation marks (text only), fields, runs of text and groups.
_Segment = str | _Field | _Run | _Group
_TOKEN = re.compile(r"(\{[^{}]*\}|\[|\])")


def _segments(template: str, prefix: str, keys: dict[str, str]) -> list[_Segment]:
    """``keys``: text -> clip key so far (the same words in one prompt are one clip). Marks
    that open a run are text only; a run keeps the marks that end its template."""
    out: list[_Segment] = []
    level = [out]
    tokens = [t for t in _TOKEN.split(template) if t]
    for i, tok in enumerate(tokens):
        if tok == "[":
            group = _Group([])
            level[-1].append(group)
            level.append(group.segments)
            continue
        if tok == "]":
            level.pop()
            continue
        if tok.startswith("{"):
            level[-1].append(_Field(tok[1:-1]))
            continue
        rest = [t for t in tokens[i + 1 :] if t != "]"]
        body = tok.strip(" ").lstrip(_MARKS + " ")
        if rest:
            body = body.rstrip(_MARKS + " ")
        if not body:
            level[-1].extend(m for m in tok if m in _MARKS)
            continue
        start = tok.index(body)
        level[-1].extend(m for m in tok[:start] if m in _MARKS)
        after_field = i > 0 and tokens[i - 1].startswith("{") and not tok[0].isspace()
        before_field = bool(rest) and tokens[i + 1].startswith("{") and not tok[-1].isspace()
        key = keys.setdefault(body, f"{prefix}.{len(keys) + 1}")
        level[-1].append(_Run(key, body, after_field, before_field))
        level[-1].extend(m for m in tok[start + len(body) :] if m in _MARKS)
    return out


def _runs(segments: list[_Segment]) -> list[_Run]:
    out: list[_Run] = []
    for seg in segments:
        if isinstance(seg, _Run):
            out.append(seg)
        elif isinstance(seg, _Group):
            out += _runs(seg.segments)
    return out


def _wording_segments(purpose: Purpose, prompt: Prompt, lang: str) -> list[list[list[_Segment]]]:
    """Each line's alternatives as segments, keys numbered over all of them."""
    found = purpose.wording(prompt, lang)
    if found is None:
        return []
    written_under, lines = found
    prefix, keys = f"{lang}/purpose/{purpose.name}/{written_under.value}", dict[str, str]()
    return [
        [_segments(t, prefix, keys) for t in ([line] if isinstance(line, str) else line)]
        for line in lines
    ]


@functools.cache
def purpose_clip_texts(lang: str) -> dict[str, str]:
    """The recorded runs of the built-in purposes, key -> words (their recording script)."""
    out: dict[str, str] = {}
    for purpose in builtin_purposes().values():
        for prompt in purpose.say:
            for line in _wording_segments(purpose, prompt, lang):
                for alternative in line:
                    out.update({run.key: run.text for run in _runs(alternative)})
    return dict(sorted(out.items()))


def plan_purpose(purpose: Purpose, prompt: Prompt, order: Order, today: date) -> list[Item] | None:
    """The plan of ``prompt`` in the purpose's own words, or None (it has none: the built-in
    plan applies)."""
    lang = order.language
    lines = _wording_segments(purpose, prompt, lang)
    if not lines:
        return None
    recorded = purpose_clip_texts(lang) if builtin_purposes().get(purpose.name) else {}
    items: list[Item] = []
    for alternatives in lines:
        for segments in alternatives:
            said = _said(segments, order, today, recorded)
            if said is not None:
                items += said
                break
    return items


def _said(
    segments: list[_Segment], order: Order, today: date, recorded: dict[str, str]
) -> list[Item] | None:
    items: list[Item] = []
    for seg in segments:
        if isinstance(seg, str):
            items.append(seg)
        elif isinstance(seg, _Group):
            items += _said(seg.segments, order, today, recorded) or []
        elif isinstance(seg, _Field):
            value = field_items(seg.name, order, today)
            if not value:
                return None
            items += value
        else:
            recording = recorded.get(seg.key) == seg.text
            piece = Piece("clip", seg.key) if recording else Piece("tts", seg.text, seg.key)
            items += [GLUE, piece] if seg.glue_before else [piece]
            items += [GLUE] if seg.glue_after else []
    return items


def _day(lang: str, day: date, today: date) -> list[Item]:
    if lang == "ru":
        return words("ru", numerals.ru_date_keys(day, today))
    return ko_words(numerals_ko.ko_date_words(day, today))


def _slot(lang: str, order: Order, today: date) -> list[Item]:
    if order.slot_from is None:
        return []
    start = customer_time(order, order.slot_from)
    end = customer_time(order, order.slot_to).time() if order.slot_to else None
    if lang == "ru":
        return when_ru(start.date(), start.time(), end, today)
    items = [*ko_day(start.date(), today), *ko_time(start.time())]
    return [*items, GLUE, phrase("ko", "time_from"), *ko_time(end)] if end else items


def _greeting(lang: str, order: Order) -> list[Item]:
    name = speakable_name(order.customer_name, lang)
    shop = speakable_name(order.shop_name, lang)
    if lang == "ru":
        items: list[Item] = [phrase("ru", "hello")]
        items += [",", Piece("tts", name)] if name else []
        items += ["!"]
        return [*items, phrase("ru", "this_is_shop"), Piece("tts", shop), "."] if shop else items
    items = [Piece("tts", name), phrase("ko", "customer"), ","] if name else []
    items += [phrase("ko", "hello"), "."]
    return [*items, Piece("tts", shop), GLUE, phrase("ko", "calling_from"), "."] if shop else items


def _time(lang: str, moment: datetime | None, order: Order, *, end: bool) -> list[Item]:
    if moment is None:
        return []
    local: time = customer_time(order, moment).time()
    if lang == "ko":
        return ko_time(local)
    return hours_ru(local) if end else words("ru", numerals.ru_time_keys(local))


def field_items(name: str, order: Order, today: date) -> list[Item]:
    """How the field is said in the order's language; empty when the order does not have it."""
    lang = order.language
    if name == "greeting":
        return _greeting(lang, order)
    if name in ("customer_name", "shop_name"):
        text = speakable_name(getattr(order, name), lang)
        return [Piece("tts", text)] if text else []
    if name in ("items", "pickup_point"):
        attr = "items_summary" if name == "items" else name
        text = speakable_summary(getattr(order, attr), lang)
        return [Piece("tts", text)] if text else []
    if name == "order_id":
        if lang == "ko":
            return ko_order_number(order.order_id)
        return words("ru", id_keys(order.order_id, numerals.ru_order_number_keys) or [])
    if name == "amount":
        if lang == "ko":
            return ko_words(numerals_ko.ko_amount_words(order.amount, order.currency))
        return words("ru", numerals.ru_amount_keys(order.amount, order.currency))
    if name in ("delivery_date", "storage_until"):
        day = getattr(order, name)
        return _day(lang, day, today) if day else []
    if name == "slot":
        return _slot(lang, order, today)
    if name == "slot_day":
        return (
            _day(lang, customer_time(order, order.slot_from).date(), today)
            if (order.slot_from)
            else []
        )
    if name in ("slot_from", "slot_to"):
        return _time(lang, getattr(order, name), order, end=name == "slot_to")
    raise KeyError(f"unknown field {name!r}")
