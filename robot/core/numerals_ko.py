"""Korean readings of money, order numbers and dates (Sino-Korean numerals).

Like the Russian readings in ``robot.core.numerals``, everything is built from *word keys*
indexing ``KO_WORDS``; the prompt planner plays the same keys as clips (``ko/<key>``).
Korean writes a number as one word per 만 (10^4) group, so readings here are lists of
*words*, each word a list of keys joined without spaces: 2490 won is
``[["num/2000", "num/400", "num/90"], ["cur/krw"]]`` -> ``이천사백구십 원``.

Choices:

- 1 is silent before 십, 백, 천 and 만 (``천``, ``만 이천``), spoken before 억 and 조 (``일억``).
- Zero as an amount is ``영``; as a digit of an order number ``공``, as on the phone.
- Order numbers of digits only are read digit by digit in the same groups as Russian
  (``1234`` -> ``일이 삼사``); ids with letters character by character (English letter names).
- Dates: ``오늘``, ``내일``, ``모레`` relative to ``today``, else ``십일월 이십삼일`` (month
  names 유월 and 시월 as spoken). The year is never read.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from robot.core.number_parts import digit_groups, split_amount

_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_POWERS = {1000: "천", 100: "백", 10: "십"}
_BIG = (("jo", 10**12, "조"), ("eok", 10**8, "억"), ("man", 10**4, "만"))
_MONTHS = (
    "", "일월", "이월", "삼월", "사월", "오월", "유월", "칠월", "팔월", "구월", "시월",
    "십일월", "십이월",
)  # fmt: skip
_LETTERS = {
    "a": "에이", "b": "비", "c": "씨", "d": "디", "e": "이", "f": "에프", "g": "지",
    "h": "에이치", "i": "아이", "j": "제이", "k": "케이", "l": "엘", "m": "엠", "n": "엔",
    "o": "오", "p": "피", "q": "큐", "r": "알", "s": "에스", "t": "티", "u": "유", "v": "브이",
    "w": "더블유", "x": "엑스", "y": "와이", "z": "제트",
}  # fmt: skip
# currency -> (major key, minor key or None)
_CURRENCIES = {
    "KRW": ("krw", None),
    "RUB": ("rub", "kop"),
    "USD": ("usd", "cent"),
    "EUR": ("eur", "cent"),
    "KZT": ("kzt", "tiyn"),
}
_NOUNS = {
    "krw": "원",
    "rub": "루블",
    "kop": "코페이카",
    "usd": "달러",
    "eur": "유로",
    "cent": "센트",
    "kzt": "텡게",
    "tiyn": "티인",
}

# Weekdays (Monday first, like date.weekday()) and the native numbers hours are read with.
_WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
_HOURS = ("열두", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한")

Words = list[list[str]]


def _build_words() -> dict[str, str]:
    words = {"num/0": "영", "digit/0": "공"}
    for d in range(1, 10):
        words[f"num/{d}"] = _DIGITS[d]
        words[f"digit/{d}"] = _DIGITS[d]
        for power, name in _POWERS.items():
            words[f"num/{d * power}"] = name if d == 1 else _DIGITS[d] + name
    for key, _, name in _BIG:
        words[f"big/{key}"] = name
    for key, name in _NOUNS.items():
        words[f"cur/{key}"] = name
    for m in range(1, 13):
        words[f"month/{m}"] = _MONTHS[m]
    for d in range(1, 32):
        words[f"day/{d}"] = "".join(words[k] for k in _below_10k(d)) + "일"
    for i, name in enumerate(_WEEKDAYS):
        words[f"weekday/{i}"] = name
    for i, name in enumerate(_HOURS):
        words[f"hour/{i or 12}"] = name
    words["time/hour"] = "시"
    words["time/half"] = "반"
    words["time/minute"] = "분"
    words["time/am"] = "오전"
    words["time/pm"] = "오후"
    words["date/today"] = "오늘"
    words["date/tomorrow"] = "내일"
    words["date/after_tomorrow"] = "모레"
    for letter, name in _LETTERS.items():
        words[f"letter/{letter}"] = name
    return words


def _below_10k(n: int) -> list[str]:
    keys = []
    for power in (1000, 100, 10):
        d, n = divmod(n, power)
        if d:
            keys.append(f"num/{d * power}")
    if n:
        keys.append(f"num/{n}")
    return keys


KO_WORDS: dict[str, str] = _build_words()


def words_text(words: Words) -> str:
    return " ".join("".join(KO_WORDS[k] for k in word) for word in words)


def flat(words: Words) -> list[str]:
    return [k for word in words for k in word]


def ko_cardinal_words(n: int) -> Words:
    """One word per 만 group: 345000 -> [[삼십, 사, 만], [오천]]."""
    if n < 0:
        raise ValueError("negative numbers are not spoken here")
    if n == 0:
        return [["num/0"]]
    if n >= 10**16:
        raise ValueError(f"{n} is too large to read")
    words: Words = []
    for key, size, _ in _BIG:
        count, n = divmod(n, size)
        if count:
            # 만 alone, but 일억 and 일조.
            words.append(
                ([] if count == 1 and key == "man" else _below_10k(count)) + [f"big/{key}"]
            )
    if n:
        words.append(_below_10k(n))
    return words


def ko_cardinal_keys(n: int) -> list[str]:
    return flat(ko_cardinal_words(n))


def ko_cardinal(n: int) -> str:
    """``2490`` -> ``이천사백구십``; ``12000`` -> ``만 이천``."""
    return words_text(ko_cardinal_words(n))


def ko_amount_words(amount: Decimal | int | float | str, currency: str = "KRW") -> Words:
    whole, minor = split_amount(amount)
    spec = _CURRENCIES.get(currency.upper())
    if spec is None:
        code = [[f"letter/{c}"] for c in currency.lower() if c in _LETTERS]
        words = ko_cardinal_words(whole) + code
        return words + ko_cardinal_words(minor) if minor else words
    major, minor_noun = spec
    words = [*ko_cardinal_words(whole), [f"cur/{major}"]]
    if minor and minor_noun:
        words += [*ko_cardinal_words(minor), [f"cur/{minor_noun}"]]
    return words


def ko_amount_keys(amount: Decimal | int | float | str, currency: str = "KRW") -> list[str]:
    return flat(ko_amount_words(amount, currency))


def ko_amount(amount: Decimal | int | float | str, currency: str = "KRW") -> str:
    """``2490`` -> ``이천사백구십 원``."""
    return words_text(ko_amount_words(amount, currency))


def ko_order_number_words(order_id: str) -> Words:
    chars = [c for c in order_id.lower() if c.isascii() and c.isalnum()]
    if not chars:
        return []
    if all(c.isdigit() for c in chars):
        return [[f"digit/{c}" for c in group] for group in digit_groups("".join(chars))]
    return [[f"digit/{c}" if c.isdigit() else f"letter/{c}"] for c in chars]


def ko_order_number_keys(order_id: str) -> list[str]:
    return flat(ko_order_number_words(order_id))


def ko_order_number(order_id: str) -> str:
    """``"1234"`` -> ``일이 삼사``; ``"A7"`` -> ``에이 칠``."""
    return words_text(ko_order_number_words(order_id))


def ko_date_words(day: date, today: date) -> Words:
    relative = {0: "date/today", 1: "date/tomorrow", 2: "date/after_tomorrow"}
    delta = (day - today).days
    if delta in relative:
        return [[relative[delta]]]
    return [[f"month/{day.month}"], [f"day/{day.day}"]]


def ko_weekday_key(day: date) -> str:
    return f"weekday/{day.weekday()}"


def ko_time_words(moment: time) -> Words:
    """``20:00`` -> 오후 여덟 시; ``9:30`` -> 오전 아홉 시 반; ``14:15`` -> 오후 두 시 십오 분."""
    hour = moment.hour % 12 or 12
    words: Words = [["time/am" if moment.hour < 12 else "time/pm"], [f"hour/{hour}"], ["time/hour"]]
    if moment.minute == 30:
        words.append(["time/half"])
    elif moment.minute:
        words += [_below_10k(moment.minute), ["time/minute"]]
    return words


def ko_date_keys(day: date, today: date) -> list[str]:
    return flat(ko_date_words(day, today))


def ko_date(day: date, today: date) -> str:
    """``내일`` or ``십일월 이십삼일``."""
    return words_text(ko_date_words(day, today))
