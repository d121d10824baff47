"""When the customer asked to be called back: "через час", "вечером", "내일", "30분 후에".

The retry policy decides when to call again; this only reads what the customer said into a
short hint it can use, stored on the call attempt (``CallAttempt.callback_hint``):

- ``+<N>m``: after N minutes ("через полчаса" -> ``+30m``, "한 시간 후에" -> ``+60m``)
- ``morning``, ``afternoon``, ``evening``: later today, that part of the day
- ``tomorrow``, ``tomorrow morning``...: the next day (with a part of the day if said)
- None: no time was said ("перезвоните позже").

Pure; numbers may be digits or words ("через два часа", "두 시간 후에").
"""

from __future__ import annotations

import re

_RU_NUM = {
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "десять": 10, "пятнадцать": 15, "двадцать": 20, "тридцать": 30, "сорок": 40,
    "пару": 2, "полчаса": 30, "полтора": 90,
}  # fmt: skip
_KO_NUM = {
    "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "십": 10, "이십": 20, "삼십": 30, "사십": 40,
    "오십": 50, "십오": 15, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5,
}  # fmt: skip
_PARTS = {
    "morning": ("утр", "아침", "오전"),
    "afternoon": ("днем", "днём", "после обеда", "오후", "점심"),
    "evening": ("вечер", "저녁", "밤"),
}


def _number(word: str, table: dict[str, int]) -> int | None:
    if word.isdigit():
        return int(word)
    return table.get(word)


def _ru_minutes(text: str) -> int | None:
    if "полчаса" in text:
        return 30
    m = re.search(r"через\s+(?:(\S+)\s+)?(час|часа|часов|минут|минуту|минуты)", text)
    if not m:
        return None
    n = _number(m.group(1), _RU_NUM) if m.group(1) else 1
    if n is None:
        return None
    if m.group(1) == "полтора":
        return 90
    return n * 60 if m.group(2).startswith("час") else n


def _ko_minutes(text: str) -> int | None:
    m = re.search(r"(\d+|[가-힣]+)\s*(시간|분)\s*(후|뒤|있다가|이따)", text)
    if not m:
        return None
    n = _number(m.group(1), _KO_NUM)
    if n is None:
        return None
    return n * 60 if m.group(2) == "시간" else n


def callback_hint(text: str, language: str) -> str | None:
    """The hint in ``text`` (an answer classified as "later"), or None."""
    t = text.lower().replace("ё", "е")
    minutes = _ko_minutes(t) if language == "ko" else _ru_minutes(t)
    if minutes:
        return f"+{minutes}m"
    tomorrow = any(w in t for w in ("завтра", "내일")) and "послезавтра" not in t
    part = next((name for name, cues in _PARTS.items() if any(c in t for c in cues)), None)
    if tomorrow:
        return f"tomorrow {part}" if part else "tomorrow"
    return part
