"""Server texts: every message key has Russian words, policy reasons carry keys, stored English
parses back to its key, and the Russian rendering keeps no English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from robot.core.messages import EN, ENGLISH, Text, placeholders
from robot.core.models import Order, OrderStatus, Outcome
from robot.core.policy import PastCall, decide
from robot.core.policy_config import PolicyConfig
from robot.core.records import OrderRecord
from robot.web.i18n import (
    ALL_EN,
    CATALOG,
    FORMATS,
    RU,
    annotate,
    check_words,
    localize,
    message_keys,
)

NOW = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)


def english_fragments() -> set[str]:
    """Literal words of the English templates long enough to recognise (for leak checks)."""
    out: set[str] = set()
    for template in ALL_EN.values():
        for part in re.split(r"\{\w+(?::\w+)?\}", template):
            part = part.strip(" ;:,()'")
            if len(part) >= 8 and re.search(r"[a-z]{4}", part):
                out.add(part)
    return out


def test_every_key_has_russian_with_the_same_parameters():
    keys = message_keys()
    assert len(keys) > 100
    missing = [k for k in keys if k not in RU]
    assert missing == []
    for k in keys:
        assert placeholders(RU[k]) == placeholders(ALL_EN[k]), k
    assert set(RU) <= set(keys), set(RU) - set(keys)


def test_every_status_and_outcome_has_words_and_retry_text():
    assert check_words() == []
    for o in Outcome:
        assert f"retry.{o.value}" in EN


def test_three_do_not_call_meanings_have_three_russian_terms():
    from robot.web.i18n import OUTCOME_WORDS, STATUS_WORDS

    terms = {RU["policy.dnc_flag"], RU["policy.dnc_listed"], OUTCOME_WORDS["ru"]["dnc"],
             STATUS_WORDS["ru"]["dnc"]}  # fmt: skip
    assert len(terms) == 4
    assert not any(t == "не звонить" for t in terms)


def order(**extra) -> Order:
    return Order(order_id="7", phone="+74232123456", amount="990", shop_name="Ромашка", **extra)


def decisions() -> list[Text]:
    cfg = PolicyConfig()
    o = order()
    out = [
        decide(o, [], NOW.replace(hour=12), False, cfg).reason,  # night there: wait
        decide(o, [], NOW.replace(hour=23), False, cfg).reason,  # morning there: call
        decide(
            o, [PastCall(NOW - timedelta(minutes=3), Outcome.NO_ANSWER)], NOW, False, cfg
        ).reason,
        decide(o, [PastCall(NOW - timedelta(hours=3), Outcome.LATER)], NOW, False, cfg).reason,
        decide(o, [PastCall(NOW, Outcome.CONFIRMED)], NOW, False, cfg).reason,
        decide(o, [PastCall(NOW - timedelta(hours=5), Outcome.BUSY)] * 5, NOW, False, cfg).reason,
        decide(
            o, [PastCall(NOW - timedelta(hours=5), Outcome.UNCLEAR)] * 2, NOW, False, cfg
        ).reason,
        decide(o, [], NOW, True, cfg).reason,
        decide(order(do_not_call=True), [], NOW, False, cfg).reason,
        decide(order(timezone="Europe/Moscow"), [], NOW, False, cfg).reason,
    ]
    record = OrderRecord(order=o, status=OrderStatus.EXHAUSTED, attempts=5, created_at=NOW,
                         updated_at=NOW, status_reason=str(out[5]))  # fmt: skip
    out.append(decide(record, [], NOW, False, cfg).reason)
    for o2 in Outcome:  # every outcome the policy has a rule for, as the last call
        try:
            out.append(decide(o, [PastCall(NOW - timedelta(hours=1), o2)], NOW, False, cfg).reason)
        except ValueError:  # an outcome another change is still teaching the policy
            continue
    return out


@pytest.mark.parametrize("reason", decisions(), ids=lambda r: r.key)
def test_policy_reasons_have_keys_and_parse_back(reason):
    assert isinstance(reason, Text)
    assert reason.key in EN
    parsed = CATALOG.parse(str(reason))
    assert parsed is not None and parsed.key == reason.key
    assert parsed.render(ENGLISH) == str(reason)
    ru = reason.render(FORMATS["ru"])
    assert ru == parsed.render(FORMATS["ru"])
    leaks = [f for f in english_fragments() if f in ru]
    assert leaks == [], ru


def test_explain_json_has_code_beside_the_english():
    d = decide(order(), [], NOW.replace(hour=12), False, PolicyConfig())
    doc = d.to_json(codes=True)
    assert doc["reason"] == str(d.reason) and doc["reason_code"] == "policy.wait"
    assert doc["reason_params"]["at"]["zone"] == "Asia/Vladivostok"
    assert set(d.to_json()) == {"action", "at", "reason"}  # the CLI format is unchanged


def test_russian_times_name_their_zone_and_durations_are_words():
    call = PastCall(NOW - timedelta(minutes=3), Outcome.NO_ANSWER)
    ru = decide(order(), [call], NOW, False, PolicyConfig()).reason.render(FORMATS["ru"])
    assert "Asia/Vladivostok (+10:00)" in ru and "15.01.2030" in ru
    assert "повтор через 10 мин" in ru


def test_stored_and_call_texts_translate():
    cases = {
        "lease expired: worker lost": "обработчик пропал",
        "said: да; hung up: order cancelled: cancelled by supervisor anna": "отменил супервизор",
        "caller hung up": "положил трубку",
        "no order 'X1'": "заказа «X1» нет",
        "not a valid phone number": "недействительный",
        "phone on the do-not-call list": "стоп-лист",
        "media connection lost": "соединение",
    }
    for english, russian in cases.items():
        got = localize(english)
        assert got is not None, english
        assert got["en"] == english
        assert russian in got["ru"], got
    assert localize("a shop's own free text") is None
    from robot.core.carrier_outcomes import carrier_verdict

    verdict = carrier_verdict(486, 17)
    assert verdict is not None
    got = localize(verdict.reason)
    assert got is not None and got["ru"].startswith("линия занята: SIP 486"), got


def test_annotate_adds_texts_at_any_depth():
    doc = {"status_reason": "order updated", "calls": [{"reason": "busy"}], "message": "x y z"}
    annotate(doc)
    assert doc["status_reason_i18n"]["ru"] == "заказ изменён"
    assert doc["calls"][0]["reason_i18n"]["ru"] == "занято"
    assert "message_i18n" not in doc
