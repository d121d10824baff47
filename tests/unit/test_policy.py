"""The call policy: decide() for every rule a supervisor asks about, with time passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from robot.core.models import CallAttempt, OrderStatus, Outcome, parse_order
from robot.core.policy import Action, Decision, PastCall, decide
from robot.core.policy_config import Hours, PolicyConfig, parse_duration
from robot.core.records import OrderRecord

MOBILE = "+79161234567"  # Russian mobile: phonenumbers knows many zones -> shop default
VLADIVOSTOK_LANDLINE = "+74232123456"
SEOUL_MOBILE = "+821012345678"


def order(phone: str = MOBILE, **extra):
    return parse_order(
        {"order_id": "A-1", "phone": phone, "amount": "100", "shop_name": "Ромашка", **extra}
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def call(at: datetime, outcome: Outcome | None, minutes: float = 1.0) -> PastCall:
    return PastCall(at, outcome, at + timedelta(minutes=minutes))


CFG = PolicyConfig()


def test_within_hours_calls_now():
    now = utc(2030, 1, 15, 9, 0)  # 12:00 in Moscow
    d = decide(order(), [], now, False, CFG)
    assert d.action is Action.CALL and d.at == now
    assert "12:00 in Europe/Moscow (shop default)" in d.reason and "attempt 1 of 5" in d.reason


def test_before_opening_waits_for_nine_local_and_says_so():
    now = utc(2030, 1, 15, 3, 10)  # 06:10 Moscow
    d = decide(order(), [], now, False, CFG)
    assert d.action is Action.WAIT and d.at == utc(2030, 1, 15, 6, 0)
    assert d.at.tzinfo is UTC
    assert "06:10" in d.reason and "Europe/Moscow" in d.reason and "09:00" in d.reason
    assert "before calling hours" in d.reason


def test_after_closing_waits_for_next_morning():
    now = utc(2030, 1, 15, 18, 30)  # 21:30 Moscow
    d = decide(order(), [], now, False, CFG)
    assert d.action is Action.WAIT and d.at == utc(2030, 1, 16, 6, 0)
    assert "after calling hours" in d.reason and "Wed 2030-01-16 09:00" in d.reason


def test_window_end_is_exclusive():
    assert decide(order(), [], utc(2030, 1, 15, 17, 59), False, CFG).action is Action.CALL
    assert decide(order(), [], utc(2030, 1, 15, 18, 0), False, CFG).action is Action.WAIT


@pytest.mark.parametrize(
    ("now", "action", "at"),
    [
        (utc(2030, 1, 15, 23, 30), Action.CALL, None),  # 09:30 Vladivostok, next day
        (utc(2030, 1, 15, 10, 59), Action.CALL, None),  # 20:59 there
        (utc(2030, 1, 15, 11, 0), Action.WAIT, utc(2030, 1, 15, 23, 0)),  # 21:00 there
        (utc(2030, 1, 15, 20, 0), Action.WAIT, utc(2030, 1, 15, 23, 0)),  # 06:00 there
    ],
)
def test_order_time_zone_vladivostok(now, action, at):
    d = decide(order(timezone="Asia/Vladivostok"), [], now, False, CFG)
    assert d.action is action
    if at is not None:
        assert d.at == at and "Asia/Vladivostok (from the order)" in d.reason
        assert "(+10:00)" in d.reason


def test_zone_from_a_landline_number():
    now = utc(2030, 1, 15, 11, 30)  # 14:30 Moscow, 21:30 Vladivostok
    d = decide(order(VLADIVOSTOK_LANDLINE), [], now, False, CFG)
    assert d.action is Action.WAIT and "Asia/Vladivostok (from the phone number)" in d.reason
    assert d.at == utc(2030, 1, 15, 23, 0)


def test_zone_from_a_korean_number():
    now = utc(2030, 1, 15, 13, 0)  # 22:00 Seoul
    d = decide(order(SEOUL_MOBILE, language="ko"), [], now, False, CFG)
    assert d.action is Action.WAIT and d.at == utc(2030, 1, 16, 0, 0)  # 09:00 KST
    assert "Asia/Seoul (from the phone number)" in d.reason


def test_order_zone_beats_the_phone_and_the_shop_default_applies_last():
    now = utc(2030, 1, 15, 11, 30)
    assert decide(order(VLADIVOSTOK_LANDLINE, timezone="Europe/Moscow"), [], now, False,
                  CFG).action is Action.CALL  # fmt: skip
    far_east = PolicyConfig(default_timezone="Asia/Vladivostok")
    d = decide(order(), [], now, False, far_east)
    assert d.action is Action.WAIT and "Asia/Vladivostok (shop default)" in d.reason


def test_dst_zone_keeps_wall_clock_hours():
    # Europe/Berlin moves to CEST on 2030-03-31: 09:00 local is 08:00 UTC before, 07:00 after.
    cfg = PolicyConfig(default_timezone="Europe/Berlin")
    before = decide(order(), [], utc(2030, 3, 29, 21, 0), False, cfg)  # Fri 22:00 CET
    assert before.at == utc(2030, 3, 30, 8, 0)
    after = decide(order(), [], utc(2030, 3, 30, 21, 0), False, cfg)  # Sat 23:00 CET
    assert after.at == utc(2030, 3, 31, 7, 0) and "(+02:00)" in after.reason


def test_weekday_hours_and_closed_days():
    cfg = PolicyConfig(weekdays={"sat": "10:00-18:00", "sun": None})
    sat_morning = utc(2030, 1, 19, 6, 30)  # Sat 09:30 Moscow
    d = decide(order(), [], sat_morning, False, cfg)
    assert d.action is Action.WAIT and d.at == utc(2030, 1, 19, 7, 0)
    sat_evening = utc(2030, 1, 19, 15, 30)  # Sat 18:30
    d = decide(order(), [], sat_evening, False, cfg)
    assert d.at == utc(2030, 1, 21, 6, 0)  # Monday 09:00, Sunday is closed
    sunday = decide(order(), [], utc(2030, 1, 20, 9, 0), False, cfg)
    assert sunday.at == utc(2030, 1, 21, 6, 0) and "no calls on Sundays" in sunday.reason


def test_holidays_are_skipped():
    cfg = PolicyConfig(holidays=[date(2030, 1, 1), date(2030, 1, 2)])
    d = decide(order(), [], utc(2029, 12, 31, 19, 0), False, cfg)  # 22:00 on Dec 31
    assert d.at == utc(2030, 1, 3, 6, 0)
    d = decide(order(), [], utc(2030, 1, 1, 9, 0), False, cfg)  # noon on a holiday
    assert d.action is Action.WAIT and "2030-01-01 is a holiday" in d.reason


def test_holiday_is_the_customers_local_date():
    # 2030-01-01 00:30 in Vladivostok is still Dec 31 in Moscow.
    cfg = PolicyConfig(holidays=[date(2030, 1, 1)], hours="00:00-24:00")
    now = utc(2029, 12, 31, 14, 30)
    assert decide(order(timezone="Asia/Vladivostok"), [], now, False, cfg).action is Action.WAIT
    assert decide(order(timezone="Europe/Moscow"), [], now, False, cfg).action is Action.CALL


def test_do_not_call_flag_and_list_stop():
    now = utc(2030, 1, 15, 9, 0)
    d = decide(order(do_not_call=True), [], now, False, CFG)
    assert (d.action, d.status, d.at) == (Action.STOP, OrderStatus.DNC, None)
    d = decide(order(), [], now, True, CFG)
    assert d.status is OrderStatus.DNC and "do-not-call list" in d.reason


def record(status: OrderStatus, reason: str = "", attempts: int = 0) -> OrderRecord:
    t = utc(2030, 1, 15, 9, 0)
    return OrderRecord(order=order(), status=status, status_reason=reason, attempts=attempts,
                       created_at=t, updated_at=t)  # fmt: skip


@pytest.mark.parametrize("status", [s for s in OrderStatus if s.is_final])
def test_final_orders_stop(status):
    d = decide(record(status, "why"), [], utc(2030, 1, 15, 9, 0), False, CFG)
    assert d.action is Action.STOP and d.status is status
    assert f"already {status.value} (why)" in d.reason


def test_call_in_flight_waits_without_a_time():
    d = decide(record(OrderStatus.CALLING, attempts=2), [], utc(2030, 1, 15, 9, 0), False, CFG)
    assert (d.action, d.at) == (Action.WAIT, None) and "in flight" in d.reason


def test_queued_record_is_decided_like_the_order():
    now = utc(2030, 1, 15, 9, 0)
    assert decide(record(OrderStatus.QUEUED), [], now, False, CFG).action is Action.CALL


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.CONFIRMED, OrderStatus.CONFIRMED), (Outcome.REJECTED, OrderStatus.REJECTED),
     (Outcome.DNC, OrderStatus.DNC), (Outcome.OPERATOR, OrderStatus.OPERATOR)],
)  # fmt: skip
def test_a_conclusive_answer_stops(outcome, status):
    t = utc(2030, 1, 15, 9, 0)
    d = decide(order(), [call(t, Outcome.NO_ANSWER), call(t + timedelta(hours=1), outcome)],
               t + timedelta(hours=2), False, CFG)  # fmt: skip
    assert d.action is Action.STOP and d.status is status


def test_conclusive_answer_wins_over_a_later_dnc_listing():
    t = utc(2030, 1, 15, 9, 0)
    d = decide(order(), [call(t, Outcome.CONFIRMED)], t, True, CFG)
    assert d.status is OrderStatus.CONFIRMED


def test_attempts_exhausted():
    t = utc(2030, 1, 15, 6, 0)
    calls = [call(t + timedelta(hours=i), Outcome.NO_ANSWER) for i in range(5)]
    d = decide(order(), calls, t + timedelta(hours=8), False, CFG)
    assert d.action is Action.STOP and d.status is OrderStatus.EXHAUSTED
    assert "5 of 5" in d.reason and "no answer" in d.reason


def test_retry_delays_grow_and_the_last_repeats():
    cfg = PolicyConfig(min_gap=0, max_attempts=10, max_calls_per_phone_per_day=10)
    t = utc(2030, 1, 15, 6, 0)
    calls: list[PastCall] = []
    expected = [10, 30, 120, 120]
    for n, minutes in enumerate(expected, 1):
        calls.append(call(t, Outcome.NO_ANSWER, minutes=0))
        d = decide(order(), calls, t, False, cfg)
        assert d.action is Action.WAIT and d.at == t + timedelta(minutes=minutes), n
        assert f"retry after {minutes // 60}h" in d.reason if minutes >= 60 else \
            f"retry after {minutes}m" in d.reason  # fmt: skip
        t = d.at
    assert decide(order(), calls, t, False, cfg).action is Action.CALL


def test_retry_delay_counts_from_the_end_of_the_call():
    t = utc(2030, 1, 15, 6, 0)
    d = decide(order(), [call(t, Outcome.BUSY, minutes=3)], t + timedelta(minutes=4), False,
               PolicyConfig(min_gap=0))  # fmt: skip
    assert d.at == t + timedelta(minutes=3 + 5) and "line busy" in d.reason


def test_unclear_has_its_own_limit():
    t = utc(2030, 1, 15, 6, 0)
    calls = [call(t, Outcome.UNCLEAR), call(t + timedelta(hours=1), Outcome.UNCLEAR)]
    d = decide(order(), calls, t + timedelta(hours=4), False, CFG)
    assert d.status is OrderStatus.EXHAUSTED and "2 calls ended as unclear" in d.reason


def test_machine_counts_as_no_answer():
    cfg = PolicyConfig(min_gap=0)
    t = utc(2030, 1, 15, 6, 0)
    calls = [call(t, Outcome.NO_ANSWER, 0), call(t + timedelta(minutes=10), Outcome.MACHINE, 0)]
    d = decide(order(), calls, t + timedelta(minutes=10), False, cfg)
    assert d.at == t + timedelta(minutes=40)  # the second no-answer-like outcome: 30 min
    assert "answering machine" in d.reason
    own = PolicyConfig(min_gap=0, retry={"machine": {"delays": ["1h"]}})
    d = decide(order(), calls, t + timedelta(minutes=10), False, own)
    assert d.at == t + timedelta(minutes=70)


def test_a_lost_call_counts_as_failed():
    t = utc(2030, 1, 15, 6, 0)
    lost = CallAttempt(call_id="c1", order_id="A-1", phone=MOBILE, language="ru", created_at=t)
    d = decide(order(), [lost], t + timedelta(minutes=1), False, PolicyConfig(min_gap=0))
    assert d.action is Action.WAIT and d.at == t + timedelta(minutes=5)
    assert "call failed" in d.reason


def test_later_is_a_callback_inside_the_window():
    t = utc(2030, 1, 15, 9, 0)  # 12:00 Moscow
    d = decide(order(), [call(t, Outcome.LATER, 0)], t, False, CFG)
    assert d.at == utc(2030, 1, 15, 11, 0) and "callback after 2h" in d.reason
    t = utc(2030, 1, 15, 17, 0)  # 20:00 Moscow: +2h is after closing
    d = decide(order(), [call(t, Outcome.LATER, 0)], t, False, CFG)
    assert d.at == utc(2030, 1, 16, 6, 0)
    assert "callback after 2h" in d.reason and "after calling hours" in d.reason


def test_later_has_a_limit_of_its_own():
    t = utc(2030, 1, 15, 6, 0)
    calls = [call(t + timedelta(hours=2 * i), Outcome.LATER) for i in range(3)]
    d = decide(order(), calls, t + timedelta(hours=7), False, CFG)
    assert d.status is OrderStatus.EXHAUSTED and "later" in d.reason


def test_daily_cap_per_phone_moves_to_the_next_local_day():
    now = utc(2030, 1, 15, 12, 0)  # 15:00 Moscow
    other_orders = [utc(2030, 1, 15, 6, 0) + timedelta(hours=i) for i in range(4)]
    d = decide(order(), [], now, False, CFG, phone_calls=other_orders)
    assert d.action is Action.WAIT and d.at == utc(2030, 1, 16, 6, 0)
    assert "4 calls to this phone on 2030-01-15 already, at most 4 a day" in d.reason
    three = other_orders[:3]
    assert decide(order(), [], now, False, CFG, phone_calls=three).action is Action.CALL


def test_daily_cap_counts_the_customers_day_not_utc():
    # 4 calls on Jan 15 UTC, but in Vladivostok the first two were still Jan 15 local and
    # the last two fall on Jan 16 local together with "now".
    vl = order(timezone="Asia/Vladivostok")
    calls = [utc(2030, 1, 15, 10, 0), utc(2030, 1, 15, 10, 30), utc(2030, 1, 15, 14, 0),
             utc(2030, 1, 15, 14, 30)]  # fmt: skip
    now = utc(2030, 1, 15, 23, 30)  # 09:30 Jan 16 in Vladivostok
    assert decide(vl, [], now, False, CFG, phone_calls=calls).action is Action.CALL


def test_min_gap_between_calls_to_one_phone():
    now = utc(2030, 1, 15, 9, 0)
    d = decide(order(), [], now, False, CFG, phone_calls=[now - timedelta(minutes=3)])
    assert d.action is Action.WAIT and d.at == now + timedelta(minutes=7)
    assert "10m between calls to one phone" in d.reason


def test_no_window_at_all_waits_a_day_and_says_why():
    cfg = PolicyConfig(weekdays={d: None for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                   "sun")})  # fmt: skip
    now = utc(2030, 1, 15, 9, 0)
    d = decide(order(), [], now, False, cfg)
    assert d.action is Action.WAIT and d.at == now + timedelta(days=1)
    assert "no calling window" in d.reason


def test_naive_times_are_utc_and_dicts_are_accepted():
    d = decide(order(), [{"at": "2030-01-15T09:00:00", "outcome": "busy"}],
               datetime(2030, 1, 15, 9, 1), False, PolicyConfig(min_gap=0))  # fmt: skip
    assert d.at == utc(2030, 1, 15, 9, 5)


def test_to_json_is_the_explain_format():
    d = Decision(Action.WAIT, utc(2030, 1, 15, 6, 0), "why")
    assert d.to_json() == {"action": "wait", "at": "2030-01-15T06:00:00+00:00", "reason": "why"}
    assert Decision(Action.STOP, None, "x", OrderStatus.DNC).to_json()["at"] is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600), ("2h", 7200), ("1h30m", 5400), ("45s", 45), ("1d", 86400), (90, 90),
     ("90", 90), ("PT10M", 600), ("0s", 0)],
)  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["ten minutes", "10x", -5, "", "1h 2q"])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_hours_parsing():
    assert Hours.parse("00:00-24:00") == Hours(start_min=0, end_min=1440)
    assert str(Hours.parse("9:00 - 21:30")) == "09:00–21:30"
    for bad in ("21:00-09:00", "09:00", "25:00-26:00", "09:60-10:00"):
        with pytest.raises(ValueError):
            Hours.parse(bad)


def test_config_from_json_merges_retry_rules_and_round_trips():
    cfg = PolicyConfig.model_validate(
        {"weekdays": {"Saturday": "10:00-18:00", "sun": "closed"},
         "retry": {"busy": {"delays": ["1m"], "max_attempts": 2}}, "min_gap": "0s"}
    )  # fmt: skip
    assert cfg.weekdays == {5: Hours.parse("10:00-18:00"), 6: None}
    assert cfg.retry["busy"].delays == [timedelta(minutes=1)]
    assert cfg.retry["no_answer"].delays[0] == timedelta(minutes=10)  # default kept
    assert PolicyConfig.model_validate_json(cfg.model_dump_json()) == cfg
    with pytest.raises(ValueError):
        PolicyConfig.model_validate({"weekdays": {"funday": None}})
    with pytest.raises(ValueError):
        PolicyConfig.model_validate({"default_timezone": "Mars/Olympus"})
    with pytest.raises(ValueError):
        PolicyConfig.model_validate({"max_atempts": 3})  # typos are errors, not ignored


def test_policy_from_settings(tmp_path):
    from robot.config import Settings
    from robot.policy_settings import PolicyConfigError, load_policy

    path = tmp_path / "policy.json"
    path.write_text('{"max_attempts": 3, "hours": "08:00-20:00"}')
    s = Settings(policy_file=path, policy_json='{"max_attempts": 2}', shop_timezone="Asia/Omsk")
    cfg = load_policy(s)
    assert (cfg.max_attempts, str(cfg.hours), cfg.default_timezone) == (2, "08:00–20:00",
                                                                        "Asia/Omsk")  # fmt: skip
    assert str(load_policy(Settings(calling_hours="00:00-24:00")).hours) == "00:00–24:00"
    with pytest.raises(PolicyConfigError, match="max_attempts"):
        load_policy(Settings(policy_json='{"max_attempts": 0}'))
    with pytest.raises(PolicyConfigError, match="DOZVON_POLICY_JSON"):
        load_policy(Settings(policy_json="{"))
