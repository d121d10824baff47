"""The report's arithmetic, the orders filter and the CSV guard, without Redis."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from robot.web.order_scan import BadQuery, DayRange, StoredOrder, day_range
from robot.web.orders_list import _attempts, parse_filter
from robot.web.reports import compute, safe_cell

MSK = ZoneInfo("Europe/Moscow")


def stored(oid: str, status: str, created: datetime, calls: list[dict], **order) -> StoredOrder:
    fields = {"status": status, "created_at": created.isoformat(), "attempts": str(len(calls)),
              "phone": "+79160000000"}  # fmt: skip
    doc = {"shop_name": "Ромашка", "language": "ru", **order}
    return StoredOrder(oid, fields, json.loads(json.dumps(doc)), calls)


def call(n: int, outcome: str, at: datetime, talk_s: float | None = None) -> dict:
    answered = at + timedelta(seconds=5) if talk_s is not None else None
    end = (answered + timedelta(seconds=talk_s)) if answered else at + timedelta(seconds=30)
    return {"attempt": n, "outcome": outcome, "created_at": at.isoformat(),
            "originated_at": at.isoformat(), "answered_at": answered and answered.isoformat(),
            "ended_at": end.isoformat()}  # fmt: skip


def test_csv_cells_never_start_a_formula():
    for bad in ("=1+1", "+7916", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(bad) == "'" + bad
    assert safe_cell("Ромашка") == "Ромашка" and safe_cell(None) == "" and safe_cell(5) == "5"


def test_attempts_forms():
    assert _attempts("2") == (2, 2)
    assert _attempts("1-3") == (1, 3)
    assert _attempts("3+")[0] == 3 and _attempts("3-")[0] == 3
    with pytest.raises(BadQuery):
        _attempts("many")


def test_filter_rejects_unknown_values():
    with pytest.raises(BadQuery) as e:
        parse_filter({"status": "lost"}, "RU")
    assert e.value.field == "status"
    flt = parse_filter({"q": "8 916 000-00-00"}, "RU")
    assert flt.phone == "+79160000000"


def test_day_range_and_previous_period():
    r = day_range("2030-01-10", "2030-01-16", MSK, today=date(2030, 1, 20), default_days=7)
    assert r.days == 7 and r.previous() == DayRange(date(2030, 1, 3), date(2030, 1, 9), MSK)
    assert r.start == datetime(2030, 1, 10, tzinfo=MSK)
    assert day_range(None, None, MSK, today=date(2030, 1, 20), default_days=7).first == date(
        2030, 1, 14
    )
    with pytest.raises(BadQuery):
        day_range("2030-01-16", "2030-01-10", MSK, today=date(2030, 1, 20), default_days=7)


def test_funnel_breakdowns_and_talk_time():
    day = DayRange(date(2030, 1, 10), date(2030, 1, 11), MSK)
    t = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    orders = [
        stored("1", "confirmed", t, [call(1, "confirmed", t, 30.0)]),
        stored(
            "2",
            "rejected",
            t,
            [call(1, "no_answer", t), call(2, "rejected", t + timedelta(hours=1), 10.0)],
            shop_name="Лютик",
            language="ko",
        ),
        stored("3", "queued", t + timedelta(days=1), [call(1, "busy", t + timedelta(days=1))]),
        stored("4", "queued", t + timedelta(days=1), []),
    ]
    rep = compute(orders, day)
    f = rep["funnel"]
    assert (f["orders"], f["called"], f["reached"], f["confirmed"]) == (4, 3, 2, 1)
    assert f["reach_rate"] == 0.5 and f["confirm_rate"] == 0.25 and f["confirm_of_reached"] == 0.5
    assert rep["calls"] == 4 and rep["talk"] == {"calls": 2, "total_s": 40.0, "mean_s": 20.0,
                                                 "median_s": 20.0}  # fmt: skip
    assert [(d["day"], d["orders"]) for d in rep["by_day"]] == [
        ("2030-01-10", 2),
        ("2030-01-11", 2),
    ]
    assert {h["hour"]: h["calls"] for h in rep["by_hour"]} == {12: 3, 13: 1}
    assert [(a["attempt"], a["calls"], a["reached"]) for a in rep["by_attempt"]] == [
        (1, 3, 1),
        (2, 1, 1),
    ]
    assert {s["shop"]: s["orders"] for s in rep["by_shop"]} == {"Ромашка": 3, "Лютик": 1}
    assert {r["language"]: r["confirmed"] for r in rep["by_language"]} == {"ru": 1, "ko": 0}
    assert compute([], day)["funnel"]["reach_rate"] is None
