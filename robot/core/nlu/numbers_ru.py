"""Russian numerals read from lemmas: cardinals and ordinals, in words or digits.

``двадцать пятого`` -> 25 (ordinal), ``восьми`` -> 8 (cardinal), ``25го`` / ``25-го`` -> 25
(ordinal: the tokenizer splits the ending off), ``19`` -> 19. pymorphy3 supplies the lemma
(``двадцатого`` -> ``двадцатый``), so every case and gender is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from robot.core.nlu.morph_ru import Word

_UNITS = "ноль один два три четыре пять шесть семь восемь девять".split()
_TEENS = (
    "десять одиннадцать двенадцать тринадцать четырнадцать пятнадцать шестнадцать семнадцать "
    "восемнадцать девятнадцать"
).split()
_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50}
CARDINALS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)} | {
    w: 10 + i for i, w in enumerate(_TEENS)
}
CARDINALS |= _TENS | {"полтора": 1, "пара": 2}

_ORD_UNITS = ("нулевой первый второй третий четвертый пятый шестой седьмой восьмой девятый").split()
_ORD_TEENS = (
    "десятый одиннадцатый двенадцатый тринадцатый четырнадцатый пятнадцатый шестнадцатый "
    "семнадцатый восемнадцатый девятнадцатый"
).split()
ORDINALS: dict[str, int] = {w: i for i, w in enumerate(_ORD_UNITS)} | {
    w: 10 + i for i, w in enumerate(_ORD_TEENS)
}
ORDINALS |= {"двадцатый": 20, "тридцатый": 30, "сороковой": 40, "пятидесятый": 50}
# Endings a recognizer or a person writes after digits ("25-го", "5ое", "3 числа").
ORDINAL_SUFFIXES = frozenset("го ого е ое ье ья я й ый ий ой му ому ем ом числа число".split())


@dataclass(frozen=True)
class Number:
    value: int
    ordinal: bool
    start: int
    end: int  # one past the last word used


def _lemma_value(w: Word) -> tuple[int, bool] | None:
    if w.text.isdigit():
        return int(w.text), False
    for lemma in (w.lemma, *sorted(w.lemmas)):
        if lemma in ORDINALS and w.pos in ("ADJF", "NOUN", "ADJS", ""):
            return ORDINALS[lemma], True
        if lemma in CARDINALS and (w.pos == "NUMR" or lemma in ("пара", "полтора", "один")):
            return CARDINALS[lemma], False
    return None


def number_at(words: list[Word], i: int) -> Number | None:
    """The numeral starting at ``words[i]``, if any (a ten and a unit make one number)."""
    if i >= len(words):
        return None
    first = _lemma_value(words[i])
    if first is None:
        return None
    value, ordinal = first
    end = i + 1
    if words[i].text.isdigit():
        if end < len(words) and words[end].text in ORDINAL_SUFFIXES:
            if words[end].text not in ("числа", "число"):
                end += 1
            ordinal = True
        return Number(value, ordinal, i, end)
    if value in (20, 30, 40, 50) and not ordinal and end < len(words):
        nxt = _lemma_value(words[end])
        if nxt is not None and 1 <= nxt[0] <= 9 and not words[end].text.isdigit():
            return Number(value + nxt[0], nxt[1], i, end + 1)
    return Number(value, ordinal, i, end)
