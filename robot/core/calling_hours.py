"""Calling hours in the customer's local time: which zone, and the next moment a call may start.

Pure. Zones come from the IANA database (``zoneinfo``); windows are wall-clock times, so a
window of 09:00-21:00 stays 09:00-21:00 local across DST changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from robot.core.messages import Text
from robot.core.models import Order
from robot.core.phones import phone_timezones
from robot.core.policy_config import Hours, PolicyConfig

SEARCH_DAYS = 400  # how far ahead to look for a calling window before giving up


class NoCallingWindow(ValueError):
    """The configuration leaves no calling window within a year (every day closed)."""


def customer_zone(order: Order, default_timezone: str) -> tuple[ZoneInfo, str]:
    """The customer's zone and where it came from: the order, the phone number (when
    phonenumbers knows exactly one zone for it) or the shop default."""
    if order.timezone:
        return ZoneInfo(order.timezone), Text("zone.order")
    zones = phone_timezones(order.phone)
    if len(zones) == 1:
        return ZoneInfo(zones[0]), Text("zone.phone")
    return ZoneInfo(default_timezone), Text("zone.default")


def local_moment(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """``day`` at ``minutes`` past local midnight (1440: the next midnight), zone-aware."""
    if minutes >= 1440:
        day, minutes = day + timedelta(days=1), minutes - 1440
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)


def _closed_why(day: date, config: PolicyConfig) -> str:
    if day in config.holidays:
        return Text("hours.holiday", day=day)
    return Text("hours.closed", wd=day.weekday())


def next_calling_time(t: datetime, zone: ZoneInfo, config: PolicyConfig) -> tuple[datetime, str]:
    """The first moment at or after ``t`` inside a calling window, and why it is not ``t``
    ("" when ``t`` itself is inside a window). Raise NoCallingWindow if there is none."""
    local = t.astimezone(zone)
    why = ""
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        hours: Hours | None = config.hours_on(day)
        if hours is None:
            why = why or _closed_why(day, config)
            continue
        start = local_moment(day, hours.start_min, zone)
        end = local_moment(day, hours.end_min, zone)
        if offset == 0:
            if local < start:
                return start, Text("hours.before", now=f"{local:%H:%M}", hours=str(hours))
            if local < end:
                return t, ""
            why = Text("hours.after", now=f"{local:%H:%M}", hours=str(hours))
            continue
        return start, why
    raise NoCallingWindow(Text("hours.none"))


def calls_on_local_day(calls: list[datetime], day: date, zone: ZoneInfo) -> int:
    return sum(1 for c in calls if c.astimezone(zone).date() == day)
