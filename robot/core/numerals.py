"""Numbers, money, order numbers and dates as spoken words (Russian here, Korean in
``robot.core.numerals_ko``, re-exported here; the pieces both use are in
``robot.core.number_parts``, so the two never import each other).

Every reading is built as a list of *word keys* (``"num/2f"``, ``"thousand/2"``,
``"cur/rub/5"``) that index a word table (``RU_WORDS``). The text functions join the words;
the prompt planner turns the same keys into pre-recorded clips (``ru/<key>``), so whatever can
be written can also be said from clips, and the two never disagree.

Choices, so that readings are predictable:

- Gender: units agree with the noun that follows (``рубль``, ``доллар``, ``евро``, ``тенге``
  are masculine; ``тысяча`` and ``копейка`` are feminine).
- Exactly one thousand is read ``тысяча`` (``тысяча двести рублей``), as people say it;
  a larger count keeps its unit (``двадцать одна тысяча``). Millions keep ``один``.
- Noun form by the last two digits: 1 -> ``рубль``, 2-4 -> ``рубля``, 0, 5-20 -> ``рублей``,
  11-14 are always the "many" form (``одиннадцать рублей``, ``двадцать один рубль``).
- Kopecks (cents, tiyn) are read only when the amount is not whole.
- Order numbers made only of digits are read in groups as people read phone numbers
  (``1234`` -> ``двенадцать тридцать четыре``, ``12345`` -> ``сто двадцать три сорок пять``);
  a group's leading zeros are read one by one (``05`` -> ``ноль пять``). Ids with letters
  are read character by character (Latin letters by their Russian school names).
- Dates: ``сегодня``, ``завтра``, ``послезавтра`` relative to ``today``; otherwise the
  genitive ordinal day and the genitive month, as after "доставка"
  (``двадцать третьего ноября``). The year is never read.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Literal

from robot.core.number_parts import digit_groups, split_amount
from robot.core.numerals_ko import (  # noqa: F401  re-exported: the Korean readings live there
    KO_WORDS,
    ko_amount,
    ko_amount_keys,
    ko_cardinal,
    ko_cardinal_keys,
    ko_date,
    ko_date_keys,
    ko_order_number,
    ko_order_number_keys,
)

Gender = Literal["m", "f"]

_UNITS_M = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_TEENS = (
    "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
    "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать",
)  # fmt: skip
_TENS = (
    "", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
    "восемьдесят", "девяносто",
)  # fmt: skip
_HUNDREDS = (
    "", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот",
    "девятьсот",
)  # fmt: skip
_ORDINAL_GEN = (
    "", "первого", "второго", "третьего", "четвёртого", "пятого", "шестого", "седьмого",
    "восьмого", "девятого", "десятого", "одиннадцатого", "двенадцатого", "тринадцатого",
    "четырнадцатого", "пятнадцатого", "шестнадцатого", "семнадцатого", "восемнадцатого",
    "девятнадцатого", "двадцатого",
)  # fmt: skip
# "On <weekday>" (в среду, во вторник); Monday first, like date.weekday().
_ON_WEEKDAY = (
    "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
    "в воскресенье",
)  # fmt: skip
# Cardinals in the genitive, as after "после", "до", "с" (после восьми, до двадцати трёх).
_UNITS_GEN = ("нуля", "одного", "двух", "трёх", "четырёх", "пяти", "шести", "семи", "восьми",
              "девяти")  # fmt: skip
_TEENS_GEN = (
    "десяти", "одиннадцати", "двенадцати", "тринадцати", "четырнадцати", "пятнадцати",
    "шестнадцати", "семнадцати", "восемнадцати", "девятнадцати",
)  # fmt: skip
_TENS_GEN = ("", "", "двадцати", "тридцати", "сорока", "пятидесяти")
_MONTHS_GEN = (
    "", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
    "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
# Latin letters by the names Russian schools teach; order ids are ASCII (see models.Order).
_LETTERS = {
    "a": "а", "b": "бэ", "c": "цэ", "d": "дэ", "e": "е", "f": "эф", "g": "гэ", "h": "ха",
    "i": "и", "j": "йот", "k": "ка", "l": "эль", "m": "эм", "n": "эн", "o": "о", "p": "пэ",
    "q": "ку", "r": "эр", "s": "эс", "t": "тэ", "u": "у", "v": "вэ", "w": "дубль вэ",
    "x": "икс", "y": "игрек", "z": "зэт",
}  # fmt: skip

# Scale words and currency nouns in their three forms: (1, 2-4, 5+).
_SCALES = {
    "thousand": ("тысяча", "тысячи", "тысяч"),
    "million": ("миллион", "миллиона", "миллионов"),
    "billion": ("миллиард", "миллиарда", "миллиардов"),
}
_SCALE_GENDER: dict[str, Gender] = {"thousand": "f", "million": "m", "billion": "m"}
# currency -> (major noun key, major gender, minor noun key or None, minor gender)
_CURRENCIES: dict[str, tuple[str, Gender, str | None, Gender]] = {
    "RUB": ("rub", "m", "kop", "f"),
    "USD": ("usd", "m", "cent", "m"),
    "EUR": ("eur", "m", "cent", "m"),
    "KZT": ("kzt", "m", "tiyn", "m"),
}
_NOUNS = {
    "rub": ("рубль", "рубля", "рублей"),
    "kop": ("копейка", "копейки", "копеек"),
    "usd": ("доллар", "доллара", "долларов"),
    "cent": ("цент", "цента", "центов"),
    "eur": ("евро", "евро", "евро"),  # indeclinable
    "kzt": ("тенге", "тенге", "тенге"),  # indeclinable
    "tiyn": ("тиын", "тиына", "тиынов"),
}
_INDECLINABLE = ("eur", "kzt")


def _build_words() -> dict[str, str]:
    words: dict[str, str] = {"num/0": "ноль", "num/1f": "одна", "num/2f": "две"}
    for i in range(1, 10):
        words[f"num/{i}"] = _UNITS_M[i]
        words[f"num/{i * 100}"] = _HUNDREDS[i]
    for i, w in enumerate(_TEENS):
        words[f"num/{10 + i}"] = w
    for i in range(2, 10):
        words[f"num/{i * 10}"] = _TENS[i]
    for name, forms in _SCALES.items():
        for form, w in zip((1, 2, 5), forms, strict=True):
            words[f"{name}/{form}"] = w
    for name, forms in _NOUNS.items():
        if name in _INDECLINABLE:
            words[f"cur/{name}"] = forms[0]
            continue
        for form, w in zip((1, 2, 5), forms, strict=True):
            words[f"cur/{name}/{form}"] = w
    for i in range(1, 21):
        words[f"ord/{i}"] = _ORDINAL_GEN[i]
    words["ord/30"] = "тридцатого"
    for i in range(1, 13):
        words[f"month/{i}"] = _MONTHS_GEN[i]
    for i, w in enumerate(_ON_WEEKDAY):
        words[f"weekday/{i}"] = w
    for i, w in enumerate(_UNITS_GEN):
        words[f"gen/{i}"] = w
    for i, w in enumerate(_TEENS_GEN):
        words[f"gen/{10 + i}"] = w
    for i in range(2, 6):
        words[f"gen/{i * 10}"] = _TENS_GEN[i]
    words["date/today"] = "сегодня"
    words["date/tomorrow"] = "завтра"
    words["date/after_tomorrow"] = "послезавтра"
    for letter, w in _LETTERS.items():
        words[f"letter/{letter}"] = w
    return words


RU_WORDS: dict[str, str] = _build_words()


def words_text(keys: list[str], table: dict[str, str] | None = None) -> str:
    """Join word keys into text."""
    table = RU_WORDS if table is None else table
    return " ".join(table[k] for k in keys)


def ru_plural_form(n: int) -> Literal[1, 2, 5]:
    """Which noun form follows ``n``: 1 (рубль), 2 (рубля) or 5 (рублей)."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return 5
    last = n % 10
    if last == 1:
        return 1
    if 2 <= last <= 4:
        return 2
    return 5


def _below_thousand(n: int, gender: Gender) -> list[str]:
    keys: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        keys.append(f"num/{hundreds * 100}")
    if 10 <= rest <= 19:
        keys.append(f"num/{rest}")
        return keys
    tens, units = divmod(rest, 10)
    if tens:
        keys.append(f"num/{tens * 10}")
    if units:
        keys.append(f"num/{units}f" if gender == "f" and units in (1, 2) else f"num/{units}")
    return keys


def ru_cardinal_keys(n: int, gender: Gender = "m") -> list[str]:
    """Word keys of a non-negative integer, units agreeing with ``gender``."""
    if n < 0:
        raise ValueError("negative numbers are not spoken here")
    if n == 0:
        return ["num/0"]
    if n >= 10**12:
        raise ValueError(f"{n} is too large to read")
    keys: list[str] = []
    for name, size in (("billion", 10**9), ("million", 10**6), ("thousand", 10**3)):
        count, n = divmod(n, size)
        if not count:
            continue
        if name == "thousand" and count == 1:
            keys.append("thousand/1")  # "тысяча", not "одна тысяча"
        else:
            keys += _below_thousand(count, _SCALE_GENDER[name])
            keys.append(f"{name}/{ru_plural_form(count)}")
    if n:
        keys += _below_thousand(n, gender)
    return keys


def ru_cardinal(n: int, gender: Gender = "m") -> str:
    """``2490`` -> ``две тысячи четыреста девяносто``; ``gender="f"``: ``одна``, ``две``."""
    return words_text(ru_cardinal_keys(n, gender))


def _noun_key(noun: str, n: int) -> str:
    if noun in _INDECLINABLE:
        return f"cur/{noun}"
    return f"cur/{noun}/{ru_plural_form(n)}"


def ru_amount_keys(amount: Decimal | int | float | str, currency: str = "RUB") -> list[str]:
    """Word keys of a sum of money. Unknown currencies: the code, letter by letter."""
    whole, minor = split_amount(amount)
    spec = _CURRENCIES.get(currency.upper())
    if spec is None:
        code = [f"letter/{c}" for c in currency.lower() if c in _LETTERS]
        keys = ru_cardinal_keys(whole) + code
        return keys + ru_cardinal_keys(minor) if minor else keys
    major, major_gender, minor_noun, minor_gender = spec
    keys = [*ru_cardinal_keys(whole, major_gender), _noun_key(major, whole)]
    if minor and minor_noun:
        keys += [*ru_cardinal_keys(minor, minor_gender), _noun_key(minor_noun, minor)]
    return keys


def ru_amount(amount: Decimal | int | float | str, currency: str = "RUB") -> str:
    """``Decimal("2490")`` -> ``две тысячи четыреста девяносто рублей``."""
    return words_text(ru_amount_keys(amount, currency))


def _group_keys(group: str) -> list[str]:
    stripped = group.lstrip("0")
    zeros = len(group) - len(stripped)
    keys = ["num/0"] * zeros
    return keys + ru_cardinal_keys(int(stripped)) if stripped else keys


def ru_order_number_keys(order_id: str) -> list[str]:
    """Word keys of an order number (see the module notes)."""
    chars = [c for c in order_id.lower() if c.isascii() and c.isalnum()]
    if not chars:
        return []
    if all(c.isdigit() for c in chars):
        keys: list[str] = []
        for group in digit_groups("".join(chars)):
            keys += _group_keys(group)
        return keys
    return [f"num/{c}" if c.isdigit() else f"letter/{c}" for c in chars]


def ru_order_number(order_id: str) -> str:
    """``"1234"`` -> ``двенадцать тридцать четыре``; ``"A7"`` -> ``а семь``."""
    return words_text(ru_order_number_keys(order_id))


def ru_date_keys(day: date, today: date) -> list[str]:
    """Word keys of a delivery date, as said after "доставка"."""
    delta = (day - today).days
    relative = {0: "date/today", 1: "date/tomorrow", 2: "date/after_tomorrow"}
    if delta in relative:
        return [relative[delta]]
    if day.day <= 20 or day.day % 10 == 0:
        keys = [f"ord/{day.day}"]
    else:
        keys = [f"num/{day.day // 10 * 10}", f"ord/{day.day % 10}"]
    return [*keys, f"month/{day.month}"]


def ru_weekday_key(day: date) -> str:
    """ "On" the weekday of ``day``: ``weekday/6`` is ``в воскресенье``."""
    return f"weekday/{day.weekday()}"


def _genitive_below_60(n: int) -> list[str]:
    if n < 20:
        return [f"gen/{n}"]
    tens, units = divmod(n, 10)
    return [f"gen/{tens * 10}", *([f"gen/{units}"] if units else [])]


def ru_time_keys(moment: time) -> list[str]:
    """A clock time in the genitive, as after "после" / "до": 20:00 -> ``двадцати``,
    18:30 -> ``восемнадцати тридцати``, 9:05 -> ``девяти ноль пяти`` (24-hour, so never
    ambiguous between morning and evening)."""
    keys = _genitive_below_60(moment.hour)
    if moment.minute:
        if moment.minute < 10:
            keys.append("num/0")
        keys += _genitive_below_60(moment.minute)
    return keys


def ru_date(day: date, today: date) -> str:
    """``завтра`` or ``двадцать третьего ноября``."""
    return words_text(ru_date_keys(day, today))
