import pytest

from robot.adapters.ami.codec import AmiParser, encode_action
from robot.adapters.ami.originator import map_originate_response
from robot.core.models import Outcome


def test_banner_then_messages_split_across_reads():
    p = AmiParser()
    data = (
        b"Asterisk Call Manager/9.0.0\r\n"
        b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
        b"Event: OriginateResponse\r\nActionID: abc\r\nResponse: Failure\r\nReason: 5\r\n\r\n"
    )
    msgs = []
    for i in range(0, len(data), 7):  # worst case: tiny reads
        msgs += p.feed(data[i : i + 7])
    assert p.banner == "Asterisk Call Manager/9.0.0"
    assert [m.event for m in msgs] == [None, "OriginateResponse"]
    assert msgs[1].event == "OriginateResponse"
    assert msgs[1]["reason"] == "5"  # keys are case-insensitive
    assert msgs[1].action_id == "abc"


def test_repeated_keys_are_kept():
    p = AmiParser()
    p.banner = ""
    [m] = p.feed(b"Response: Success\r\nOutput: a\r\nOutput: b\r\n\r\n")
    assert m.get_all("Output") == ["a", "b"]


def test_encode_action_keeps_order_and_repeats():
    data = encode_action("Originate", [("Variable", "A=1"), ("Variable", "B=2")])
    assert data == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"


def test_encode_rejects_header_injection():
    with pytest.raises(ValueError):
        encode_action("Originate", {"Channel": "PJSIP/1\r\nAction: Logoff"})


def test_garbage_without_terminator_is_dropped_not_buffered_forever():
    p = AmiParser()
    p.banner = ""
    assert p.feed(b"x" * (2 << 20)) == []
    assert p.feed(b"Event: Foo\r\n\r\n")[0].event == "Foo"


@pytest.mark.parametrize(
    ("response", "reason", "answered", "outcome"),
    [
        ("Success", 4, True, None),
        ("Failure", 5, False, Outcome.BUSY),
        ("Failure", 3, False, Outcome.NO_ANSWER),
        ("Failure", 1, False, Outcome.NO_ANSWER),
        ("Failure", 8, False, Outcome.FAILED),
        ("Failure", 0, False, Outcome.FAILED),
        ("Failure", 42, False, Outcome.FAILED),
    ],
)
def test_originate_reason_mapping(response, reason, answered, outcome):
    r = map_originate_response(response, reason)
    assert r.answered is answered
    assert r.outcome == outcome
    assert r.reason
