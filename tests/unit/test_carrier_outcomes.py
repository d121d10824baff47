"""The carrier outcome table, its use by the AMI originator (events replayed in the orders
seen on Asterisk 22.10) and the retry policy for its outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.originator import AmiOriginator, map_originate_response
from robot.core.carrier_outcomes import CARRIER_TABLE, carrier_verdict, counts_as_attempt
from robot.core.models import OrderStatus, Outcome, parse_order
from robot.core.policy import Action, PastCall, decide
from robot.core.policy_config import PolicyConfig
from robot.ports import OriginateRequest

from .test_ami_hangup import CALL, FakeConn, Sink, msg


@pytest.mark.parametrize(
    ("sip", "q850", "outcome"),
    [
        (486, 17, Outcome.BUSY),
        (600, None, Outcome.BUSY),
        (480, 19, Outcome.UNREACHABLE),  # Asterisk's 480 -> 19: the SIP code decides
        (408, 18, Outcome.UNREACHABLE),
        (None, 20, Outcome.UNREACHABLE),
        (None, 18, Outcome.UNREACHABLE),
        (404, 1, Outcome.INVALID_NUMBER),
        (604, None, Outcome.INVALID_NUMBER),
        (None, 1, Outcome.INVALID_NUMBER),
        (603, 21, Outcome.CALL_REJECTED),
        (None, 21, Outcome.CALL_REJECTED),
        (403, 21, Outcome.TRUNK_LIMIT),  # same Q.850 as 603: only the SIP code tells them apart
        (503, 34, Outcome.TRUNK_LIMIT),
        (None, 34, Outcome.TRUNK_LIMIT),
        (None, 19, Outcome.NO_ANSWER),
        (500, 38, Outcome.FAILED),
        (488, 58, Outcome.FAILED),
        (499, None, Outcome.FAILED),  # a 4xx we do not list: something is wrong with the call
    ],
)
def test_sip_code_first_then_q850(sip, q850, outcome):
    verdict = carrier_verdict(sip, q850)
    assert verdict is not None and verdict.outcome is outcome
    assert verdict.back_off_trunk is (outcome is Outcome.TRUNK_LIMIT)
    if sip is not None:
        assert f"SIP {sip}" in verdict.reason


def test_nothing_known_leaves_it_to_the_control_frame():
    assert carrier_verdict(None, None) is None
    assert carrier_verdict(None, 0) is None  # Local channels: cause 0
    assert carrier_verdict(200, None) is None


def test_every_code_is_in_one_row_only():
    sip = [c for row in CARRIER_TABLE for c in row.sip]
    q850 = [c for row in CARRIER_TABLE for c in row.q850]
    assert len(sip) == len(set(sip)) and len(q850) == len(set(q850))


def test_only_a_refusing_trunk_leaves_the_attempt_unused():
    assert not counts_as_attempt(Outcome.TRUNK_LIMIT)
    assert all(counts_as_attempt(o) for o in Outcome if o is not Outcome.TRUNK_LIMIT)


def test_our_own_ring_timeout_is_no_answer_whatever_the_hangup_says():
    # Reason 3 and Asterisk's own 19/480 for the CANCEL it sent.
    r = map_originate_response("Failure", 3, sip_code=480, q850=19)
    assert r.outcome is Outcome.NO_ANSWER


def test_local_channels_keep_their_control_frame():
    assert map_originate_response("Failure", 5).outcome is Outcome.BUSY
    assert map_originate_response("Failure", 8).outcome is Outcome.FAILED
    assert map_originate_response("Success", 4).answered


# -- the originator, with events in the orders Asterisk really sends them -------------------


async def originated() -> tuple[FakeConn, Sink]:
    conn, sink = FakeConn(), Sink()
    originator = AmiOriginator(conn, sink, context="dozvon-robot")  # type: ignore[arg-type]
    await originator.originate(
        OriginateRequest(CALL, "A-1", "PJSIP/79161234543@carrier", "x", 30, {})
    )
    return conn, sink


def far_end(sip: str, q850: str) -> AmiMessage:
    return msg(Event="HangupRequest", Uniqueid=CALL, Cause=q850, TechCause=sip)


def hangup(sip: str, q850: str) -> AmiMessage:
    return msg(Event="Hangup", Uniqueid=CALL, Cause=q850, TechCause=sip)


def failed(reason: str = "0") -> AmiMessage:
    return msg(Event="OriginateResponse", ActionID=CALL, Response="Failure", Reason=reason)


async def test_far_end_cause_before_the_originate_response():  # a 404, as seen
    conn, sink = await originated()
    conn.emit(far_end("404", "1"))
    conn.emit(failed())
    conn.emit(hangup("404", "1"))
    await asyncio.sleep(0)
    assert [r.outcome for _, r in sink.results] == [Outcome.INVALID_NUMBER]


async def test_far_end_cause_after_the_originate_response_is_waited_for():  # a 603 after 180
    conn, sink = await originated()
    conn.emit(failed())
    assert sink.results == []  # not decided on Reason 0 alone
    conn.emit(far_end("603", "21"))
    conn.emit(hangup("603", "21"))
    assert [r.outcome for _, r in sink.results] == [Outcome.CALL_REJECTED]


async def test_trunk_refusal_asks_for_a_back_off():
    conn, sink = await originated()
    conn.emit(far_end("503", "34"))
    conn.emit(hangup("503", "34"))
    conn.emit(failed())
    ((_, result),) = sink.results
    assert result.outcome is Outcome.TRUNK_LIMIT and result.back_off_trunk


async def test_ring_timeout_does_not_wait_and_ignores_asterisks_own_cause():
    conn, sink = await originated()
    conn.emit(failed("3"))
    conn.emit(hangup("480", "19"))  # what Asterisk says about its own CANCEL
    assert [r.outcome for _, r in sink.results] == [Outcome.NO_ANSWER]


async def test_no_hangup_event_at_all_still_ends_with_a_result(monkeypatch):
    monkeypatch.setattr("robot.adapters.ami.originator.HANGUP_WAIT_S", 0.05)
    conn, sink = await originated()
    conn.emit(failed("0"))
    await asyncio.sleep(0.2)
    assert [r.outcome for _, r in sink.results] == [Outcome.FAILED]


# -- the retry policy for these outcomes -----------------------------------------------------

NOW = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
CFG = PolicyConfig()


def order():
    return parse_order({"order_id": "A-1", "phone": "+79161234567", "amount": "1",
                        "shop_name": "Ромашка"})  # fmt: skip


def calls(*outcomes: Outcome, minutes_apart: int = 300) -> list[PastCall]:
    start = NOW - timedelta(minutes=minutes_apart * len(outcomes))
    return [
        PastCall(start + timedelta(minutes=minutes_apart * i), o) for i, o in enumerate(outcomes)
    ]


def test_invalid_number_is_final_at_once():
    d = decide(order(), calls(Outcome.INVALID_NUMBER), NOW, False, CFG)
    assert d.action is Action.STOP and d.status is OrderStatus.INVALID_NUMBER


def test_unreachable_is_retried_later_and_not_as_no_answer():
    past = [PastCall(NOW - timedelta(minutes=1), Outcome.UNREACHABLE)]
    d = decide(order(), past, NOW, False, CFG)
    assert d.action is Action.WAIT
    assert d.at == past[0].at + CFG.retry[CFG.rule_for(Outcome.UNREACHABLE)[0]].delays[0]
    assert CFG.rule_for(Outcome.UNREACHABLE)[0].value == "unreachable"


def test_a_declined_call_gets_one_more_try_much_later():
    one = [PastCall(NOW - timedelta(minutes=1), Outcome.CALL_REJECTED)]
    d = decide(order(), one, NOW, False, CFG)
    assert d.action is Action.WAIT and d.at is not None
    assert d.at - one[0].at >= timedelta(hours=2)  # longer than after no answer or busy
    d = decide(order(), calls(Outcome.CALL_REJECTED, Outcome.CALL_REJECTED), NOW, False, CFG)
    assert d.action is Action.STOP and d.status is OrderStatus.EXHAUSTED


def test_a_refusing_trunk_does_not_use_up_the_orders_attempt():
    cfg = PolicyConfig(max_attempts=1)
    d = decide(order(), calls(Outcome.TRUNK_LIMIT), NOW, False, cfg)
    assert d.action is Action.CALL  # max_attempts 1, yet one more call
    d = decide(order(), calls(Outcome.TRUNK_LIMIT, Outcome.NO_ANSWER), NOW, False, cfg)
    assert d.action is Action.STOP and d.status is OrderStatus.EXHAUSTED
    many = calls(*[Outcome.TRUNK_LIMIT] * 10)
    assert decide(order(), many, NOW, False, CFG).action is Action.STOP  # but not forever


# -- per shop: caller ID and the recording notice --------------------------------------------


def test_caller_id_is_the_shops_else_the_trunks_else_the_default():
    from robot.config import Settings
    from robot.engine.dialer import ShopCallSettings
    from robot.service import dialer_config

    cfg = dialer_config(
        Settings(worker_id="w", caller_id='"Dozvon" <+70000000000>').dialer,
        {
            "Ромашка": ShopCallSettings(caller_id='"Ромашка" <+74951234567>'),
            "Лютик": ShopCallSettings(announce_recording=True),
        },
    )
    assert cfg.caller_id_for("Ромашка", '"Trunk" <+74950000001>') == '"Ромашка" <+74951234567>'
    assert cfg.caller_id_for("Лютик", '"Trunk" <+74950000001>') == '"Trunk" <+74950000001>'
    assert cfg.caller_id_for("Other", None) == '"Dozvon" <+70000000000>'
    assert cfg.announce_recording_for("Лютик") and not cfg.announce_recording_for("Ромашка")
