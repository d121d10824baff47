"""The call policy's configuration: calling hours, holidays, retry rules, per-phone limits.

Pure data (pydantic). Durations are written the way people say them: ``"10m"``, ``"2h"``,
``"1h30m"``, ``"45s"``, ``"1d"`` or a number of seconds. Calling hours are ``"HH:MM-HH:MM"``
in the customer's local time (``"00:00-24:00"``: all day); a weekday set to ``null`` or
``"closed"`` has no calls. Example (JSON, as in ``DOZVON_POLICY_FILE`` / ``DOZVON_POLICY_JSON``)::

    {"default_timezone": "Europe/Moscow", "hours": "09:00-21:00",
     "weekdays": {"sat": "10:00-18:00", "sun": null}, "holidays": ["2030-01-01"],
     "max_attempts": 5, "max_calls_per_phone_per_day": 4, "min_gap": "10m",
     "retry": {"no_answer": {"delays": ["10m", "30m", "2h"]}, "later": {"delays": ["2h"]}}}

A ``retry`` entry given replaces that outcome's default rule; outcomes not given keep theirs.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_serializer,
)

from robot.core.models import Outcome, check_zone

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    full: i
    for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


def parse_duration(value: Any) -> timedelta:
    """``"1h30m"`` -> 90 minutes; a number is seconds; a timedelta passes through."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return timedelta(seconds=float(text))
        if text.upper().startswith("P"):  # what pydantic writes back (ISO 8601)
            from pydantic import TypeAdapter

            return TypeAdapter(timedelta).validate_python(text)
        parts = _DURATION.findall(text)
        if parts and _DURATION.sub("", text).strip() == "":
            return timedelta(seconds=sum(float(n) * _UNIT_S[u.lower()] for n, u in parts))
    raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 2h, 1h30m, 1d)")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def format_duration(d: timedelta) -> str:
    """90 minutes -> ``"1h30m"``; zero -> ``"0s"``."""
    total = int(d.total_seconds())
    if total <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


class Hours(BaseModel):
    """A daily calling window in local time; ``end`` is exclusive, 1440 means midnight."""

    model_config = ConfigDict(frozen=True)

    start_min: int = Field(ge=0, le=1440)
    end_min: int = Field(ge=0, le=1440)

    @classmethod
    def parse(cls, text: str) -> Hours:
        m = _HOURS.match(text)
        if not m:
            raise ValueError(f"calling hours must look like 09:00-21:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 24 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise ValueError(f"not a time of day in {text!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ValueError(f"calling hours must end after they start: {text!r}")
        return cls(start_min=start, end_min=end)

    def __str__(self) -> str:
        return f"{_hhmm(self.start_min)}–{_hhmm(self.end_min)}"

    @model_serializer
    def _as_text(self) -> str:
        return f"{_hhmm(self.start_min)}-{_hhmm(self.end_min)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hours(value: Any) -> Hours | None:
    if value is None or isinstance(value, Hours):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("", "closed", "none", "off"):
            return None
        return Hours.parse(value)
    if isinstance(value, dict):
        return Hours.model_validate(value)
    raise ValueError("calling hours must be a string like 09:00-21:00 or null")


class RetryRule(BaseModel):
    """When to call again after an attempt ended this way."""

    model_config = ConfigDict(frozen=True)

    # The n-th attempt ending this way waits delays[n-1]; the last delay repeats.
    delays: list[Duration] = Field(min_length=1)
    # At most this many attempts may end this way before the order is exhausted; None: only
    # the order's max_attempts limits it.
    max_attempts: int | None = Field(default=None, ge=1)

    @field_serializer("delays")
    def _delays_text(self, v: list[timedelta]) -> list[str]:
        return [format_duration(d) for d in v]


class RetryOutcome(str, Enum):
    """Outcomes that leave an order open for another call."""

    NO_ANSWER = "no_answer"  # rang out
    BUSY = "busy"  # line busy
    FAILED = "failed"  # congestion, trunk or our failure, or a call lost with its worker
    UNCLEAR = "unclear"  # answered, no usable answer
    MACHINE = "machine"  # an answering machine (AMD)
    LATER = "later"  # the customer asked to be called back later
    UNREACHABLE = "unreachable"  # carrier: switched off / out of coverage (480, Q.850 18/20)
    CALL_REJECTED = "call_rejected"  # carrier: the customer declined the call (603, Q.850 21)
    TRUNK_LIMIT = "trunk_limit"  # carrier: the trunk refused for capacity; no attempt used


def _default_retry() -> dict[RetryOutcome, RetryRule]:
    m = timedelta(minutes=1)
    return {
        RetryOutcome.NO_ANSWER: RetryRule(delays=[10 * m, 30 * m, 120 * m]),
        RetryOutcome.BUSY: RetryRule(delays=[5 * m, 15 * m, 60 * m]),
        RetryOutcome.FAILED: RetryRule(delays=[5 * m, 30 * m, 120 * m]),
        RetryOutcome.UNCLEAR: RetryRule(delays=[30 * m, 120 * m], max_attempts=2),
        RetryOutcome.LATER: RetryRule(delays=[120 * m], max_attempts=3),
        # Carrier outcomes (robot/core/carrier_outcomes.py). A phone that is off stays off
        # for a while; a declined call gets one more try, much later; a full trunk is retried
        # soon (it does not use up an attempt), but not forever.
        RetryOutcome.UNREACHABLE: RetryRule(delays=[30 * m, 120 * m, 360 * m]),
        RetryOutcome.CALL_REJECTED: RetryRule(delays=[240 * m], max_attempts=2),
        RetryOutcome.TRUNK_LIMIT: RetryRule(delays=[m, 2 * m, 5 * m], max_attempts=10),
    }


class PolicyConfig(BaseModel):
    """Everything the call policy decides with; see the module docstring for the format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The zone used when neither the order nor the phone number tells the customer's zone.
    default_timezone: str = "Europe/Moscow"
    hours: Annotated[Hours, BeforeValidator(_hours)] = Hours(start_min=9 * 60, end_min=21 * 60)
    # Per weekday (mon..sun): other hours, or None for no calls that day.
    weekdays: dict[int, Annotated[Hours | None, BeforeValidator(_hours)]] = Field(
        default_factory=dict
    )
    holidays: frozenset[date] = frozenset()  # the customer's local dates without calls
    max_attempts: int = Field(default=5, ge=1)  # calls per order, whatever their outcomes
    max_calls_per_phone_per_day: int = Field(default=4, ge=1)  # the customer's local day
    min_gap: Duration = timedelta(minutes=10)  # between two calls to one phone, any order
    retry: dict[RetryOutcome, RetryRule] = Field(default_factory=_default_retry)

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            return check_zone(v)
        except ValueError:
            raise ValueError(f"unknown IANA time zone {v!r}") from None

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekday_keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for key, hours in v.items():
            if isinstance(key, int) and 0 <= key <= 6:
                out[key] = hours
            elif str(key).strip().lower() in _WEEKDAY_NAMES:
                out[_WEEKDAY_NAMES[str(key).strip().lower()]] = hours
            elif str(key).isdigit() and 0 <= int(key) <= 6:
                out[int(key)] = hours
            else:
                raise ValueError(f"unknown weekday {key!r}: use mon, tue, ... sun")
        return out

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_defaults(cls, v: Any) -> Any:
        """Given rules replace the defaults outcome by outcome."""
        if not isinstance(v, dict):
            return v
        merged: dict[Any, Any] = dict(_default_retry())
        for key, rule in v.items():
            merged[RetryOutcome(key)] = rule
        return merged

    @field_serializer("weekdays")
    def _weekday_names(self, v: dict[int, Hours | None]) -> dict[str, Hours | None]:
        return {WEEKDAYS[k]: h for k, h in sorted(v.items())}

    @field_serializer("min_gap")
    def _gap_text(self, v: timedelta) -> str:
        return format_duration(v)

    def hours_on(self, day: date) -> Hours | None:
        """The calling window on a local date, or None (holiday or a day without calls)."""
        if day in self.holidays:
            return None
        weekday = day.weekday()
        if weekday in self.weekdays:
            return self.weekdays[weekday]
        return self.hours

    def rule_for(self, outcome: Outcome) -> tuple[RetryOutcome, RetryRule]:
        """The retry rule for an inconclusive outcome. An answering machine counts as no
        answer (same rule, same count) unless ``retry`` has a rule for ``machine``."""
        key = RetryOutcome(outcome.value)
        if key not in self.retry and key is RetryOutcome.MACHINE:
            key = RetryOutcome.NO_ANSWER
        return key, self.retry[key]


def merge_policy(base: dict[str, Any], *overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow-merge configuration documents; ``retry`` merges outcome by outcome."""
    out = dict(base)
    for doc in overrides:
        if not doc:
            continue
        for key, value in doc.items():
            if key == "retry" and isinstance(value, dict) and isinstance(out.get("retry"), dict):
                out["retry"] = {**out["retry"], **value}
            else:
                out[key] = value
    return out
