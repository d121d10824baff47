"""Analytics per shop and purpose: the report's rows (calls, reached, confirmed, informed, by
hour and day) and the /metrics families with bounded ``shop`` labels."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from robot.core.analytics import OTHER, counter_field, fold_counters
from robot.web.metrics import shop_families
from robot.web.order_scan import DayRange, StoredOrder
from robot.web.reports import compute

MSK = ZoneInfo("Europe/Moscow")
T = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def stored(oid: str, shop: str, purpose: str, calls: list[dict]) -> StoredOrder:
    fields = {"status": "queued", "created_at": T.isoformat(), "attempts": str(len(calls)),
              "phone": "+79160000000"}  # fmt: skip
    doc = {"shop_name": shop, "language": "ru", "purpose": purpose}
    return StoredOrder(oid, fields, json.loads(json.dumps(doc)), calls)


def call(outcome: str, at: datetime, purpose: str | None = None) -> dict:
    end = (at + timedelta(seconds=20)).isoformat()
    c = {"attempt": 1, "outcome": outcome, "created_at": at.isoformat(),
         "originated_at": at.isoformat(), "ended_at": end}  # fmt: skip
    return c | ({"purpose": purpose} if purpose else {})


def test_report_rows_per_shop_and_purpose_by_hour_and_day() -> None:
    days = DayRange(date(2030, 1, 10), date(2030, 1, 11), MSK)
    later = T + timedelta(days=1, hours=2)  # 14:00 Moscow on the 11th
    orders = [
        stored("1", "Ромашка", "confirm", [call("no_answer", T), call("confirmed", later)]),
        # called about pickup first, then the status moved it on to storage_ending
        stored("2", "Ромашка", "storage_ending",
               [call("informed", T, "pickup_ready"), call("no_answer", later, "storage_ending")]),
        stored("3", "Лютик", "pickup_ready", [call("informed", T), call("busy", T)]),
    ]  # fmt: skip
    report = compute(orders, days)
    rows = {(r["shop"], r["purpose"]): r for r in report["by_shop_purpose"]}
    assert set(rows) == {("Ромашка", "confirm"), ("Ромашка", "pickup_ready"),
                         ("Ромашка", "storage_ending"), ("Лютик", "pickup_ready")}  # fmt: skip
    conf = rows[("Ромашка", "confirm")]
    assert (conf["calls"], conf["reached"], conf["confirmed"], conf["informed"]) == (2, 1, 1, 0)
    assert conf["reach_rate"] == 0.5 and conf["success_rate"] == 0.5
    assert [(h["hour"], h["calls"], h["confirmed"]) for h in conf["by_hour"]] == [
        (12, 1, 0),
        (14, 1, 1),
    ]
    assert [(d["day"], d["calls"], d["success_rate"]) for d in conf["by_day"]] == [
        ("2030-01-10", 1, 0.0),
        ("2030-01-11", 1, 1.0),
    ]
    lyutik = rows[("Лютик", "pickup_ready")]
    assert (lyutik["calls"], lyutik["reached"], lyutik["informed"]) == (2, 1, 1)
    assert lyutik["success_of_reached"] == 1.0
    assert rows[("Ромашка", "pickup_ready")]["informed"] == 1  # the call's purpose, not the order's
    assert rows[("Ромашка", "storage_ending")]["reached"] == 0
    purposes = {r["purpose"]: r for r in report["by_purpose"]}
    assert purposes["pickup_ready"]["calls"] == 3 and purposes["pickup_ready"]["informed"] == 2
    assert report["funnel"]["reached"] == 3  # informed is reached


def test_metric_labels_are_registry_shops_and_other() -> None:
    counters = [
        (counter_field("Ромашка", "confirm", "confirmed"), 3.0),
        (counter_field("Ромашка", "confirm", "no_answer"), 2.0),
        (counter_field("Ромашка", "pickup_ready", "informed"), 1.0),
        (counter_field("Незнакомый", "confirm", "confirmed"), 4.0),
        (counter_field("Ещё один", "confirm", "busy"), 1.0),
        (counter_field("Ромашка", "Not A Purpose", "busy"), 1.0),
        ("garbage", 9.0),
    ]
    tallies = fold_counters(counters, {"Ромашка", "Лютик"})
    assert set(tallies) == {("Ромашка", "confirm"), ("Ромашка", "pickup_ready"),
                            (OTHER, "confirm"), ("Ромашка", OTHER)}  # fmt: skip
    assert tallies[(OTHER, "confirm")].calls == 5

    families = {f.name: f for f in shop_families(counters, {"Ромашка": False, "Лютик": True})}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    calls = "dozvon_shop_calls_total"
    assert (
        samples[(calls, (("outcome", "confirmed"), ("purpose", "confirm"), ("shop", "Ромашка")))]
        == 3
    )
    assert (
        samples[(calls, (("outcome", "confirmed"), ("purpose", "confirm"), ("shop", OTHER)))] == 4
    )
    reached = "dozvon_shop_calls_reached_total"
    assert samples[(reached, (("purpose", "confirm"), ("shop", "Ромашка")))] == 3
    ok = "dozvon_shop_calls_succeeded_total"
    assert samples[(ok, (("purpose", "pickup_ready"), ("shop", "Ромашка")))] == 1
    assert samples[("dozvon_shop_paused", (("shop", "Лютик"),))] == 1
    assert samples[("dozvon_shop_paused", (("shop", "Ромашка"),))] == 0
    shops = {dict(s.labels).get("shop") for f in families.values() for s in f.samples}
    assert shops == {"Ромашка", "Лютик", OTHER}
