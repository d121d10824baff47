"""Server texts as stable message keys with parameters, rendered in any language.

Why: the CRM reads the policy's English sentences (``explain``'s ``reason``, an order's
``status_reason``), while a supervisor reads them in the dashboard's language. Both come from
one :class:`Text`: a ``str`` holding the English sentence (so every caller that treats a reason
as a string keeps working) that also carries its ``key`` and ``params``.

A template names its parameters with an optional kind, ``{name:kind}``:

    (none)    a literal (a number, an hour range, a name), shown as it is
    time      a :class:`datetime` (aware) shown in the customer's zone, with the zone named
    dur       a :class:`timedelta` ("1h30m")
    day       a :class:`date`
    weekdays  a weekday number 0-6, as a plural ("Mondays")
    status    an ``OrderStatus`` value; outcome: an ``Outcome`` value
    msg       another :class:`Text` (or a plain string)
    list      a list of :class:`Text`, joined by "; "

Rendering in another language needs only that language's templates and a :class:`Formats`
(see ``robot.web.i18n``); :func:`parse` turns an English sentence back into key and
parameters, for texts that were stored as strings. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from robot.core.policy_config import format_duration

# The English templates of every text the core produces. Keys are stable: the web layer
# translates them and tests check that every key has a text in every dashboard language.
EN: dict[str, str] = {
    # robot.core.policy
    "policy.final": "the order is already {status:status}",
    "policy.final_why": "the order is already {status:status} ({why:msg})",
    "policy.in_flight": "a call is in flight now (attempt {n})",
    "policy.answered": "{answer:msg} on {at:time}",
    "policy.dnc_flag": "the order says do_not_call",
    "policy.dnc_listed": "the phone is on the do-not-call list",
    "policy.unknown_purpose": "no call purpose {purpose} is defined for the order's shop",
    "policy.exhausted": "attempts exhausted: {made} of {max} calls made",
    "policy.exhausted_last": "attempts exhausted: {made} of {max} calls made, the last: {last:msg}",
    "policy.exhausted_outcome": (
        "attempts exhausted: {same} calls ended as {outcome:outcome}, the most allowed is {max}"
    ),
    "policy.retry_step": "{what:msg} at {at:time}: retry after {delay:dur}",
    "policy.callback_step": "{what:msg} at {at:time}: callback after {delay:dur}",
    "policy.gap_step": (
        "the last call to this phone was at {at:time}: {gap:dur} between calls to one phone"
    ),
    "policy.daily_cap": "{count} calls to this phone on {day:day} already, at most {cap} a day",
    "policy.attempt": "attempt {n} of {max}",
    "policy.call_now": (
        "may call now: it is {time} in {zone} ({source:msg}), within calling hours {hours}; "
        "{attempt:msg}"
    ),
    "policy.wait": "wait until {at:time}, customer's zone {zone} ({source:msg}): {steps:list}; "
    "{attempt:msg}",
    "answer.confirmed": "the customer confirmed",
    "answer.rejected": "the customer declined",
    "answer.dnc": "the customer asked not to be called again",
    "answer.operator": "the customer was handed to an operator",
    "answer.changed": "the customer asked to change the delivery",
    "answer.wrong_number": "the person who answered is not the customer",
    "answer.not_ordered": "the customer says they did not order",
    "answer.invalid_number": "the carrier says the number does not exist",
    # what the last call ended as, for retries (one per Outcome: tests check)
    "retry.confirmed": "the customer confirmed",
    "retry.rejected": "the customer declined",
    "retry.no_answer": "no answer",
    "retry.busy": "line busy",
    "retry.failed": "call failed",
    "retry.unclear": "no clear answer",
    "retry.dnc": "the customer asked not to be called again",
    "retry.later": "the customer asked to be called back later",
    "retry.operator": "handed to an operator",
    "retry.machine": "answering machine",
    "retry.changed": "the customer asked to change the delivery",
    "retry.wrong_number": "wrong number",
    "retry.not_ordered": "the customer says they did not order",
    "retry.unreachable": "phone switched off or out of coverage",
    "retry.invalid_number": "no such number",
    "retry.call_rejected": "the customer rejected the call",
    "retry.trunk_limit": "the trunk was at its limit",
    "retry.informed": "the customer heard the message",
    # robot.core.calling_hours
    "zone.order": "from the order",
    "zone.phone": "from the phone number",
    "zone.default": "shop default",
    "hours.before": "{now} there is before calling hours {hours}",
    "hours.after": "{now} there is after calling hours {hours}",
    "hours.holiday": "{day:day} is a holiday",
    "hours.closed": "no calls on {wd:weekdays}",
    "hours.none": "no calling window in the next year: check hours, weekdays, holidays",
    "hours.cap_none": "no day with room under the daily cap in the next year",
}

_WEEKDAYS_EN = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
                "Sundays")  # fmt: skip
_WD_ABBR_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
LIST_SEP = "; "


def placeholders(template: str) -> dict[str, str]:
    """``{name: kind}`` of a template ("" for a literal)."""
    return {m.group(1): m.group(2) or "" for m in _PLACEHOLDER.finditer(template)}


def describe_local(
    t: datetime, zone: ZoneInfo, weekdays: tuple[str, ...] = _WD_ABBR_EN, day: str = "%Y-%m-%d"
) -> str:
    """``Tue 2030-01-15 09:00 Europe/Moscow (+03:00)``: what a supervisor wants to read (other
    languages pass their weekday names and date order)."""
    local = t.astimezone(zone)
    offset = local.strftime("%z")
    return (
        f"{weekdays[local.weekday()]} {local.strftime(day)} {local:%H:%M} {zone.key} "
        f"({offset[:3]}:{offset[3:]})"
    )


@dataclass(frozen=True)
class Formats:
    """How one language shows the typed parameters."""

    templates: Mapping[str, str]
    time: Callable[[datetime, ZoneInfo], str] = describe_local
    dur: Callable[[timedelta], str] = format_duration
    day: Callable[[date], str] = date.isoformat
    weekdays: Callable[[int], str] = _WEEKDAYS_EN.__getitem__
    status: Callable[[str], str] = str
    outcome: Callable[[str], str] = str
    fallback: Mapping[str, str] = field(default_factory=dict)  # templates of a base language
    # Recognises a plain English string given as a ``msg`` parameter (a stored reason).
    reparse: Callable[[str], Text | None] | None = None

    def template(self, key: str) -> str:
        t = self.templates.get(key)
        if t is None:
            t = self.fallback.get(key, EN.get(key))
        if t is None:
            raise KeyError(key)
        return t


ENGLISH = Formats(EN)


class Text(str):
    """An English sentence that knows its message key and parameters (see module doc)."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Text:
        obj = super().__new__(cls, render(key, params, ENGLISH))
        obj.key = key
        obj.params = params
        return obj

    def __reduce__(self) -> Any:
        return (_text_from, (self.key, self.params))

    def to_json(self) -> dict[str, Any]:
        """``{"key", "params"}`` with times as ``{"time": ISO, "zone"}``, durations in
        seconds, nested texts as objects."""
        return {"key": self.key, "params": {k: _param_json(v) for k, v in self.params.items()}}

    def render(self, formats: Formats) -> str:
        return render(self.key, self.params, formats)


def _text_from(key: str, params: dict[str, Any]) -> Text:
    return Text(key, **params)


def _param_json(v: Any) -> Any:
    if isinstance(v, Text):
        return v.to_json()
    if isinstance(v, list | tuple):
        return [_param_json(x) for x in v]
    if isinstance(v, Moment):
        return {"time": v.at.isoformat(), "zone": v.zone.key}
    if isinstance(v, timedelta):
        return {"seconds": int(v.total_seconds())}
    if isinstance(v, date):
        return v.isoformat()
    return v


@dataclass(frozen=True)
class Moment:
    """A point in time and the zone it is shown in (the customer's)."""

    at: datetime
    zone: ZoneInfo


def render(key: str, params: Mapping[str, Any], formats: Formats) -> str:
    template = formats.template(key)

    def one(m: re.Match[str]) -> str:
        name, kind = m.group(1), m.group(2) or ""
        return _show(params.get(name, ""), kind, formats)

    return _PLACEHOLDER.sub(one, template)


def _show(v: Any, kind: str, formats: Formats) -> str:
    if kind == "msg" and isinstance(v, str) and not isinstance(v, Text) and formats.reparse:
        v = formats.reparse(v) or v
    if isinstance(v, Text):
        return v.render(formats)
    if kind == "list":
        return LIST_SEP.join(_show(x, "msg", formats) for x in v)
    if kind == "time" and isinstance(v, Moment):
        return formats.time(v.at, v.zone)
    if kind == "dur" and isinstance(v, timedelta):
        return formats.dur(v)
    if kind == "day" and isinstance(v, date):
        return formats.day(v)
    if kind == "weekdays" and isinstance(v, int):
        return formats.weekdays(v)
    if kind == "status":
        return formats.status(str(v))
    if kind == "outcome":
        return formats.outcome(str(v))
    return str(v)


# -- parsing English back ----------------------------------------------------------------------

_TIME_RE = r"\w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ \([+-]\d{2}:\d{2}\)"
_KIND_RE = {
    "": r".+?",
    "time": _TIME_RE,
    "dur": r"(?:\d+[dhms])+",
    "day": r"\d{4}-\d{2}-\d{2}",
    "weekdays": "|".join(_WEEKDAYS_EN),
    "status": r"[a-z_]+",
    "outcome": r"[a-z_]+",
    "msg": r".+?",
    "list": r".+",
}


def _compile(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{_KIND_RE[m.group(2) or '']})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.DOTALL)


class Catalog:
    """English templates that :func:`parse` can recognise (the core's and the adapters')."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        self.templates = dict(templates)
        # Longer literal text first: the more specific template wins.
        order = sorted(self.templates, key=lambda k: -len(_PLACEHOLDER.sub("", self.templates[k])))
        self._patterns = [(k, _compile(self.templates[k])) for k in order]

    @lru_cache(maxsize=4096)  # noqa: B019 - one catalog per process, texts repeat a lot
    def parse(self, text: str) -> Text | None:
        """The :class:`Text` whose English rendering is ``text``, or None."""
        for key, pattern in self._patterns:
            m = pattern.fullmatch(text)
            if m is None:
                continue
            params = self._values(key, m.groupdict())
            if params is not None:
                return _rebuilt(key, params, text)
        return None

    def _values(self, key: str, raw: dict[str, str]) -> dict[str, Any] | None:
        kinds = placeholders(self.templates[key])
        out: dict[str, Any] = {}
        for name, value in raw.items():
            kind = kinds[name]
            if kind == "time":
                moment = _parse_time(value)
                if moment is None:
                    return None
                out[name] = moment
            elif kind == "dur":
                out[name] = _parse_duration(value)
            elif kind == "day":
                out[name] = date.fromisoformat(value)
            elif kind == "weekdays":
                out[name] = _WEEKDAYS_EN.index(value)
            elif kind == "msg":
                out[name] = self.parse(value) or value
            elif kind == "list":
                parts = [self.parse(p) for p in value.split(LIST_SEP)]
                if any(p is None for p in parts):
                    return None
                out[name] = parts
            else:
                out[name] = value
        return out


def _rebuilt(key: str, params: dict[str, Any], text: str) -> Text:
    obj = str.__new__(Text, text)
    obj.key = key
    obj.params = params
    return obj


def _parse_time(value: str) -> Moment | None:
    m = re.fullmatch(r"\w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) (\S+) \(([+-]\d{2}:\d{2})\)", value)
    if m is None:
        return None
    try:
        zone = ZoneInfo(m.group(2))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = datetime.fromisoformat(f"{m.group(1).replace(' ', 'T')}:00{m.group(3)}")
    return Moment(local.astimezone(zone), zone)


def _parse_duration(value: str) -> timedelta:
    size = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return timedelta(seconds=sum(int(n) * size[u] for n, u in re.findall(r"(\d+)([dhms])", value)))
