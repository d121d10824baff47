"""Delivery day, time window and address in a Russian reply (the fields of ``change``).

Pure: ``today`` (the customer's local date) is passed in; without it relative days are not
resolved (``date`` stays None) and only times and the address are read.

Days (the last one said that is not negated wins: "не завтра, а в четверг" is Thursday):

- ``сегодня`` / ``завтра`` / ``послезавтра``; ``через N дней|неделю|недели|месяц``
  (``через пару дней`` = 2, ``через день`` = 1, a week is 7 days);
- a weekday (``в воскресенье``, ``на вторник``): the next such day after today (today's
  weekday means a week later); ``в следующий вторник``: the Tuesday of next week;
- a day and a month, ordinal or cardinal, words or digits (``двадцатого декабря``,
  ``5 января``, ``25-го мая``): this year, or next year when that day is already past;
- a day alone (``двадцатого``, ``25 числа``): this month, or next month when past;
- ``на выходных``: the next Saturday. Vague days (``на следующей неделе``, ``в другой день``,
  ``в январе``) are noticed (``vague``) but give no date.

Times (a window: ``after`` / ``before``; a point ``в три`` gives both the same):

- ``после``, ``не раньше`` -> after; ``до``, ``к``, ``не позже`` -> before;
  ``с .. до ..``, ``от .. до ..``, ``между .. и ..`` -> both; ``в``, ``часов в``, ``около``
  -> a point;
- hours in words or digits, ``20:00``, ``полвосьмого`` / ``в половине восьмого`` (7:30),
  ``час`` / ``часу`` (1), ``полдень`` (12);
- half of the clock: ``утра`` keeps morning, ``дня`` / ``вечера`` add 12 to 1-11,
  ``ночи`` adds 12 to 9-11; with no such word an hour of 1-7 is afternoon (13-19: couriers
  do not come at 3 a.m.), and the end of a range is the first such hour after its start
  ("с девяти до часу" is 09:00-13:00, "с шести до девяти" is 18:00-21:00);
- parts of the day, as windows: ``утром`` / ``с утра`` 09:00-12:00, ``днём`` 12:00-18:00,
  ``вечером`` 18:00-22:00, ``ближе к вечеру`` / ``к вечеру`` after 17:00, ``до обеда`` before
  13:00, ``после обеда`` after 14:00, ``в обед`` 12:00-14:00. An hour said with them wins and
  takes their half of the clock ("вечером после восьми" is after 20:00).

Address: ``адрес`` (``новый адрес``, ``адрес поменялся``, ``по другому адресу``), delivery to a
person (``к`` + an animate noun or a name: ``к маме``, ``к Ивану``; ``не ко мне``), to another
place (``на работу``, ``в офис``, ``на дачу``, ``в пункт выдачи``, ``на улицу ...``), a move
(``переехал``), or picking it up (``самовывоз``, ``сам заберу``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from robot.core.nlu.morph_ru import Word
from robot.core.nlu.numbers_ru import Number, number_at

WEEKDAYS = {
    "понедельник": 0, "вторник": 1, "среда": 2, "четверг": 3, "пятница": 4, "суббота": 5,
    "воскресенье": 6, "воскресение": 6,
}  # fmt: skip
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь".split()
    )
}
RELATIVE_DAYS = {"сегодня": 0, "завтра": 1, "послезавтра": 2}

# Parts of the day as (after, before) windows, see the module notes.
DAY_PARTS: dict[str, tuple[time | None, time | None]] = {
    "утро": (time(9), time(12)),
    "день": (time(12), time(18)),
    "вечер": (time(18), time(22)),
    "обед": (time(12), time(14)),
}
_TOWARDS_EVENING = (time(17), None)
_BEFORE_LUNCH = (None, time(13))
_AFTER_LUNCH = (time(14), None)
_HALF_WORDS = {"утро": "am", "день": "pm", "вечер": "pm", "ночь": "night"}

_AFTER_PREP = frozenset({"после", "позже", "позднее"})
_BEFORE_PREP = frozenset({"до", "к", "ко"})
_FROM_PREP = frozenset({"с", "со", "от"})
_AT_PREP = frozenset({"в", "во", "около", "часов", "часа", "часиков", "примерно", "районе"})

_NOT_CLOCK = frozenset("тысяча рубль сотня процент штука копейка раз человек этаж".split())
_PLACE_LEMMAS = frozenset(
    "работа офис дача дом квартира улица проспект переулок пункт склад постамат адрес "
    "подъезд общежитие гостиница отель город деревня посёлок поселок".split()
)
_PLACE_MODIFIERS = frozenset(
    "мой моя мою наш нашу другой другую другое новый новую этот эту".split()
)
_PERSON_EXCLUDE = frozenset({"курьер", "оператор", "менеджер", "вы", "я"})
_PICKUP_LEMMAS = frozenset({"самовывоз", "пвз"})
_MOVE_LEMMAS = frozenset({"переехать", "переезжать", "съехать"})


@dataclass(frozen=True)
class Found:
    """What :func:`extract` read: resolved fields and where the expressions were."""

    date: date | None = None
    after: time | None = None
    before: time | None = None
    address: bool = False
    day_said: bool = False  # a day was named (resolved or vague)
    time_said: bool = False  # an hour or a part of the day was named
    rejected_day: bool = False  # "не завтра": a day was turned down
    strong_day: bool = False  # a weekday, a calendar day, "послезавтра", "через N дней"
    hours_said: bool = False  # an explicit clock time (not only "вечером")
    positions: tuple[int, ...] = ()  # where each day / time expression starts (-1: a day part)


def _negated(words: list[Word], i: int) -> bool:
    """Is the expression starting at ``i`` under a "не" ("не в субботу", "только не завтра")?"""
    for j in range(i - 1, max(-1, i - 3), -1):
        t = words[j].text
        if t in ("не", "ни"):
            return True
        if t not in ("в", "во", "на", "к", "ко", "с", "до", "только", "уже", "именно", "это"):
            return False
    return False


# Units of "через N ...", diminutives included ("через недельку", "через денёк").
_UNITS = {
    "день": "день", "денек": "день", "сутки": "день", "неделя": "неделя",
    "неделька": "неделя", "месяц": "месяц", "месячишко": "месяц",
}  # fmt: skip
_CANNOT = frozenset("получиться смочь мочь быть подходить подойти устраивать успеть".split())


_AWAY = frozenset("работа занятой занят занята отъезд уехать командировка дача учеба".split())


def _away(words: list[Word], i: int) -> bool:
    """The customer says where they are until then ("я на работе до шести")."""
    return any(w.lemma in _AWAY or w.text in _AWAY for w in words[max(0, i - 5) : i])


def _refused_before(words: list[Word], i: int) -> bool:
    """ "я не смогу завтра", "не получится в субботу": the day is turned down."""
    j = i - 1
    if j > 0 and words[j].pos == "PREP":
        j -= 1  # "не смогу в субботу"
    return j > 0 and words[j].lemma in _CANNOT and words[j - 1].text == "не"


def _refused_after(words: list[Word], i: int) -> bool:
    """Is the day said just before ``i`` turned down by what follows ("в субботу не
    получится", "завтра меня не будет", "в пятницу неудобно")?"""
    for j in range(i, min(len(words), i + 4)):
        w = words[j]
        if w.text in ("неудобно", "никак") or (w.text == "занят" or w.text == "занята"):
            return True
        if w.text == "не" and j + 1 < len(words) and words[j + 1].lemma in _CANNOT:
            return True
        if w.text in (",", "а", "но", "давайте", "лучше") or w.lemma in WEEKDAYS:
            return False
    return False


def next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after ``today`` (today's weekday: a week later)."""
    ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    day = min(d.day, [31, 29 if (d.year + y) % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31,
                      30, 31][m])  # fmt: skip
    return date(d.year + y, m + 1, day)


def calendar_day(today: date, day: int, month: int | None) -> date | None:
    """Day ``day`` of ``month`` (None: this month) on or after ``today``: this year or month,
    else the next; None when there is no such day."""
    try:
        if month is None:
            d = date(today.year, today.month, day)
            return d if d >= today else _add_months(d, 1) if day <= 28 else None
        d = date(today.year, month, day)
        return d if d >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


@dataclass
class _Days:
    found: list[tuple[int, date | None]]
    rejected: bool = False
    strong: bool = False


def _days(words: list[Word], today: date | None) -> _Days:
    out = _Days([])
    n = len(words)
    i = 0
    while i < n:
        w = words[i]
        lemma, start = w.lemma, i
        value: date | None = None
        hit = False
        strong = True  # a day of its own (not "сегодня", "завтра", "в другой раз")
        step = 1
        if w.text in RELATIVE_DAYS or lemma in RELATIVE_DAYS:
            key = w.text if w.text in RELATIVE_DAYS else lemma
            hit, strong = True, key == "послезавтра"
            value = today + timedelta(days=RELATIVE_DAYS[key]) if today else None
            if key == "завтра" and i > 0 and words[i - 1].text == "после":
                value = today + timedelta(days=2) if today else None
                start = i - 1
        elif lemma in WEEKDAYS and w.pos == "NOUN":
            hit = True
            lo = max(0, i - 5)
            nxt_week = (i > 0 and words[i - 1].lemma == "следующий") or any(
                a.lemma == "следующий" and b.lemma == "неделя"
                for a, b in zip(words[lo : i + 4], words[lo + 1 : i + 5], strict=False)
            )
            if today:
                value = next_weekday(today, WEEKDAYS[lemma])
                if nxt_week:
                    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
                    value = monday + timedelta(days=WEEKDAYS[lemma])
        elif lemma in ("выходной", "выходные") and i > 0 and words[i - 1].text in ("на", "в"):
            hit = True
            value = next_weekday(today, 5) if today else None
        elif (
            lemma in ("день", "неделя")
            and i + 2 < n
            and words[i + 1].text == "через"
            and number_at(words, i + 2) is not None
        ):
            num = number_at(words, i + 2)
            assert num is not None
            hit, step = True, num.end - i
            if today:
                value = today + timedelta(days=num.value * (7 if lemma == "неделя" else 1))
        elif w.text == "через":
            num = number_at(words, i + 1)
            k = num.end if num else i + 1
            count = num.value if num else 1
            if k < n and words[k].lemma in _UNITS:
                unit = _UNITS[words[k].lemma]
                hit = True
                step = k - i + 1
                if num is None and words[i + 1].lemma == "пара":
                    count = 2
                if today and (num or words[i + 1] is words[k] or words[i + 1].lemma == "пара"):
                    if unit == "месяц":
                        value = _add_months(today, count)
                    else:
                        value = today + timedelta(days=count * (7 if unit == "неделя" else 1))
        elif lemma in ("неделя",) and i > 0 and words[i - 1].lemma in ("следующий", "другой"):
            # "в субботу на следующей неделе": the weekday says the day
            hit = not any(x.lemma in WEEKDAYS for x in words[max(0, i - 4) : i])
            strong = False
        elif lemma in MONTHS and w.pos == "NOUN" and not _month_after_number(words, i):
            hit = True  # "в январе": a month, no day
        elif lemma in ("день", "раз", "время") and i > 0 and words[i - 1].lemma == "другой":
            hit, strong = True, False  # "в другой день / раз", "в другое время": none named
        elif lemma == "день" and i > 0 and words[i - 1].lemma == "следующий":
            hit, strong = True, False
        else:
            num = number_at(words, i)
            if num is not None and 1 <= num.value <= 31:
                month = _month_at(words, num.end)
                dayword = num.end < n and words[num.end].text in ("числа", "число", "числу")
                if month is not None or ((num.ordinal or dayword) and not _is_hour(words, num)):
                    hit = True
                    step = num.end - i + (1 if month is not None or dayword else 0)
                    if today:
                        value = calendar_day(today, num.value, month)
        if hit:
            if (
                _negated(words, start)
                or _refused_after(words, start + step)
                or _refused_before(words, start)
            ):
                out.rejected = True
            else:
                out.found.append((start, value))
                out.strong = out.strong or strong
        i += step
    return out


def _month_at(words: list[Word], i: int) -> int | None:
    if i < len(words) and words[i].lemma in MONTHS:
        return MONTHS[words[i].lemma]
    return None


def _month_after_number(words: list[Word], i: int) -> bool:
    return i > 0 and number_at(words, i - 1) is not None


def _is_hour(words: list[Word], num: Number) -> bool:
    """An ordinal used for the clock: "в пятом часу", "полвосьмого" (not a day)."""
    return num.end < len(words) and words[num.end].lemma in (
        "час", "половина", "раз", "этаж", "подъезд", "квартира", "дом", "очередь",
    )  # fmt: skip


# --- times -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    start: int
    end: int
    half: str | None  # "am" / "pm" / "night" when the speaker said so


def _half_at(words: list[Word], i: int) -> str | None:
    if i < len(words) and words[i].text in ("утра", "дня", "вечера", "ночи"):
        return _HALF_WORDS[words[i].lemma]
    return None


def _clock_at(words: list[Word], i: int) -> _Clock | None:
    """A clock time starting at ``i``: "восьми", "20:00", "часу", "полвосьмого", "9 30"."""
    n = len(words)
    if i >= n:
        return None
    w = words[i]
    if ":" in w.text:
        h, m = w.text.split(":")
        if int(h) <= 24 and int(m) < 60:
            return _Clock(int(h), int(m), i, i + 1, _half_at(words, i + 1))
        return None
    if w.lemma in ("полдень",):
        return _Clock(12, 0, i, i + 1, "pm")
    if w.lemma == "полночь":
        return _Clock(0, 0, i, i + 1, "night")
    if w.text in ("час", "часу") and (i == 0 or number_at(words, i - 1) is None):
        return _Clock(1, 0, i, i + 1, _half_at(words, i + 1))
    if w.text.startswith("пол") and len(w.text) > 5:  # полвосьмого, пол-восьмого
        rest = w.text[3:]
        from robot.core.nlu.morph_ru import analyze

        num = number_at([analyze(rest)], 0)
        if num and num.ordinal and 1 <= num.value <= 12:
            return _Clock(num.value - 1, 30, i, i + 1, _half_at(words, i + 1))
    if w.lemma == "половина" or w.text == "пол":
        num = number_at(words, i + 1)
        if num and num.ordinal and 1 <= num.value <= 12:
            return _Clock(num.value - 1, 30, i, num.end, _half_at(words, num.end))
    num = number_at(words, i)
    if num is None or num.ordinal or not 0 <= num.value <= 24:
        return None
    end = num.end
    minute = 0
    if end < n and words[end].lemma == "час":
        end += 1
    mins = number_at(words, end)
    if mins is not None and not mins.ordinal and (mins.value >= 10 or words[end].text == "00"):
        if mins.value < 60 and (mins.end >= n or words[mins.end].lemma not in MONTHS):
            minute, end = mins.value, mins.end
            if end < n and words[end].lemma == "минута":
                end += 1
    elif end < n and words[end].text in ("ноль", "00") and end + 1 < n:
        nxt = number_at(words, end + 1)
        if nxt is not None and nxt.value < 10:
            minute, end = nxt.value, nxt.end
    if end < n and (words[end].lemma in MONTHS or words[end].lemma in _NOT_CLOCK):
        return None  # "5 января" is a day, "с пяти тысяч" is money
    return _Clock(num.value, minute, i, end, _half_at(words, end))


def _to_time(c: _Clock, part: str | None, floor: int | None = None) -> time:
    h = c.hour % 24
    half = c.half or part
    if half == "pm" and 1 <= h < 12:
        h += 12
    elif half == "late" and 1 <= h <= 11:
        h += 12
    elif half == "night" and 9 <= h < 12:
        h += 12
    elif half is None and 1 <= h <= 7:
        h += 12
    if floor is not None and h <= floor and c.half is None and h + 12 < 24:
        h += 12
    return time(h, c.minute)


def _part_of_day(words: list[Word]) -> tuple[str | None, tuple[time | None, time | None] | None]:
    """The half of the clock and the window a part-of-day phrase gives, if any."""
    half: str | None = None
    window: tuple[time | None, time | None] | None = None
    for i, w in enumerate(words):
        prev = words[i - 1].text if i else ""
        prev2 = words[i - 2].text if i > 1 else ""
        if w.lemma == "вечер" or w.text in ("вечером", "вечерком"):
            half = "pm"
            if prev in ("к", "ко") or (prev2 == "ближе" or prev == "ближе"):
                window = _TOWARDS_EVENING
            elif w.text in ("вечером", "вечерком") or prev in ("на", "в"):
                window = DAY_PARTS["вечер"]
        elif w.lemma == "утро" or w.text in ("утром", "утречком"):
            half = half or "am"
            if w.text in ("утром", "утречком") or prev in ("с", "на"):
                window = DAY_PARTS["утро"]
        elif w.text == "днем" or (
            w.lemma == "день"
            and prev in ("в", "во")
            and i + 1 < len(words)
            and words[i + 1].text == "течение"
        ):
            half = "pm"
            window = DAY_PARTS["день"]
        elif (
            w.lemma == "половина"
            and prev in ("первый", "первой", "второй")
            and (i + 1 < len(words) and words[i + 1].text == "дня")
        ):
            window = (time(9), time(12)) if prev.startswith("перв") else DAY_PARTS["день"]
            half = None if prev.startswith("перв") else "pm"
        elif w.lemma == "обед":
            if prev == "до":
                window = _BEFORE_LUNCH
            elif prev == "после":
                window, half = _AFTER_LUNCH, "pm"
            elif prev == "к":
                window = _BEFORE_LUNCH  # "к обеду": by lunch
            elif prev == "в":
                window = DAY_PARTS["обед"]
    return half, window


def _times(words: list[Word]) -> tuple[time | None, time | None, list[int]]:
    """(after, before, positions) of the clock times said."""
    half, _ = _part_of_day(words)
    if half is None and any(w.text in ("попозже", "позже", "позднее", "поздно") for w in words):
        half = "late"  # "попозже, часов после восьми": the evening
    after: time | None = None
    before: time | None = None
    where: list[int] = []
    n = len(words)
    i = 0
    while i < n:
        prev = words[i - 1].text if i else ""
        prev2 = words[i - 2].text if i > 1 else ""
        c = _clock_at(words, i)
        if c is None or _is_day_number(words, i):
            i += 1
            continue
        explicit_prep = prev in _AFTER_PREP | _BEFORE_PREP | _FROM_PREP | _AT_PREP or prev in (
            "раньше", "позже", "между", "и")  # fmt: skip
        said_half = c.half is not None and words[c.end].text != "дня"
        if prev == "через" or (not explicit_prep and ":" not in words[i].text and not said_half):
            i = c.end
            continue  # a bare number is not a time ("через три дня", "заказ пять")
        where.append(i)
        if prev in _FROM_PREP or prev == "между":
            end_c = None
            k = c.end
            if k < n and words[k].text in ("до", "по", "и"):
                end_c = _clock_at(words, k + 1)
            start = _to_time(c, half)
            after = start
            if end_c is not None:
                before = _to_time(end_c, half if end_c.half is None else None, start.hour)
                i = end_c.end
                continue
        elif prev in ("позже", "позднее") and prev2 == "не":
            before = _to_time(c, half)
        elif prev in _AFTER_PREP or (prev == "раньше" and prev2 == "не"):
            after = _to_time(c, half)
        elif prev in _BEFORE_PREP and _away(words, i):
            after = _to_time(c, half)  # "я на работе до шести": come after six
        elif prev in _BEFORE_PREP or (prev in ("позже", "позднее") and prev2 == "не"):
            before = _to_time(c, half)
            if after is not None and before <= after and before.hour + 12 < 24:
                before = time(before.hour + 12, before.minute)
        else:
            at = _to_time(c, half)
            after = before = at
        i = c.end
    return after, before, where


def _is_day_number(words: list[Word], i: int) -> bool:
    num = number_at(words, i)
    if num is None:
        return False
    nxt = words[num.end].text if num.end < len(words) else ""
    return (num.ordinal and nxt not in ("утра", "вечера", "дня", "ночи")) or (
        num.end < len(words) and (words[num.end].lemma in MONTHS or nxt in ("числа", "число"))
    )


# --- address ---------------------------------------------------------------------------------


def _address(words: list[Word]) -> bool:
    for i, w in enumerate(words):
        prev = words[i - 1].text if i else ""
        if w.lemma == "адрес":
            return True
        if w.lemma in _PICKUP_LEMMAS or w.lemma in _MOVE_LEMMAS:
            return True
        if w.lemma in ("жить", "проживать") and {"другой", "теперь", "новый"} & {
            x.lemma for x in words[i - 2 : i + 4]
        }:
            return True  # "я теперь живу на другой улице"
        if w.lemma in ("забрать", "заберу") and any(
            x.text in ("сам", "сама", "сами") for x in words[max(0, i - 2) : i + 3]
        ):
            return True
        if prev in ("к", "ко") and w.lemma not in _PERSON_EXCLUDE:
            if w.has("anim") and (w.has("datv") or "Name" in w.tags) and w.pos == "NOUN":
                return True
            if w.text == "мне" and i > 1 and words[i - 2].text == "не":
                return True  # "не ко мне"
        if (
            w.lemma in _PLACE_LEMMAS
            and w.lemma != "работа"
            and {"другой", "новый"} & {x.lemma for x in words[max(0, i - 1) : i + 2]}
        ):
            return True  # "квартира другая", "в другой город"
        if prev in _PLACE_MODIFIERS and i > 1 and words[i - 2].text in ("на", "в", "во"):
            prev = words[i - 2].text
        if prev in ("на", "в", "во") and w.lemma in _PLACE_LEMMAS and w.lemma != "дом":
            if w.lemma == "работа" and not w.has("accs"):
                continue  # "я на работе" is where they are, not where to bring it
            return True
        if w.lemma == "пункт" and i + 1 < len(words) and words[i + 1].lemma == "выдача":
            return True
    return False


# Words that belong to day and time expressions (what is left of a reply without them tells
# whether it was only a day or a time).
TIME_WORDS = (
    frozenset(WEEKDAYS) | frozenset(MONTHS) | frozenset(RELATIVE_DAYS) | frozenset(DAY_PARTS)
) | frozenset(
    "час минута число неделя месяц сутки выходной выходные следующий другой этот ближе раньше "
    "позже пораньше попозже позднее полдень полночь половина ночь утра вечера дня ночи "
    "вечерком утречком течение через после около примерно районе между".split()
)


def is_time_word(w: Word) -> bool:
    from robot.core.nlu.numbers_ru import CARDINALS, ORDINAL_SUFFIXES, ORDINALS

    return (
        w.lemma in TIME_WORDS
        or w.text in TIME_WORDS
        or w.lemma in CARDINALS
        or w.lemma in ORDINALS
        or w.text in ORDINAL_SUFFIXES
        or w.text[:1].isdigit()
    )


def extract(words: list[Word], today: date | None) -> Found:
    """Days, times and an address change said in ``words`` (see the module notes)."""
    days = _days(words, today)
    after, before, where = _times(words)
    _, window = _part_of_day(words)
    hours_said = bool(where)
    if window is not None:
        where.append(-1)  # a part of the day counts as one expression
    if not hours_said and window is not None:
        after, before = window
    value = days.found[-1][1] if days.found else None
    return Found(
        date=value,
        after=after,
        before=before,
        address=_address(words),
        day_said=bool(days.found),
        time_said=hours_said or window is not None,
        rejected_day=days.rejected,
        strong_day=days.strong,
        hours_said=hours_said,
        positions=tuple(p for p, _ in days.found) + tuple(where),
    )
