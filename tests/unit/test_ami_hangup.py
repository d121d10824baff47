"""AmiOriginator: hanging up our calls by call id, and AMD results, over a fake connection."""

from __future__ import annotations

import asyncio

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.connection import AmiError
from robot.adapters.ami.originator import AmiOriginator
from robot.core.models import Outcome
from robot.ports import OriginateOutcome, OriginateRequest

CALL = "0b8e3a8e-8c1f-4a35-9d6e-3f3e2b1a0c01"


def msg(**headers: str) -> AmiMessage:
    return AmiMessage(tuple(headers.items()))


class FakeConn:
    name = "default"

    def __init__(self, channels: dict[str, str] | None = None) -> None:
        self.listeners: list = []
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.channels = channels or {}  # uniqueid -> name, as CoreShowChannels lists them

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)

    async def send_action(self, action, fields=(), *, action_id=None, timeout_s=None):
        fields = dict(fields.items() if isinstance(fields, dict) else fields)
        self.sent.append((action, fields))
        if action == "Hangup" and fields["Channel"] not in self.channels.values():
            raise AmiError("AMI Hangup: No such channel")
        if action == "CoreShowChannels":
            loop = asyncio.get_running_loop()
            for uid, name in self.channels.items():
                ev = msg(Event="CoreShowChannel", ActionID=action_id, Uniqueid=uid, Channel=name)
                loop.call_soon(self.emit, ev)
            loop.call_soon(self.emit, msg(Event="CoreShowChannelsComplete", ActionID=action_id))
        return msg(Response="Success", ActionID=action_id or "")

    def emit(self, m: AmiMessage) -> None:
        for listener in self.listeners:
            listener.on_ami_event(m)


class Sink:
    def __init__(self) -> None:
        self.results: list[tuple[str, OriginateOutcome]] = []

    def originate_result(self, call_id: str, result: OriginateOutcome) -> None:
        self.results.append((call_id, result))

    def asterisk_lost(self, server: str) -> None:
        pass

    def channel_hungup(self, call_id: str, cause: int, cause_text: str) -> None:
        pass


def request() -> OriginateRequest:
    return OriginateRequest(call_id=CALL, order_id="A-1", channel="Local/79161234507@c/n",
                            caller_id="x", timeout_s=30, variables={})  # fmt: skip


async def test_hangup_uses_the_channel_name_from_newchannel():
    name = "Local/79161234507@dozvon-customer-0000002a;1"
    conn = FakeConn({CALL: name})
    originator = AmiOriginator(conn, Sink(), context="dozvon-robot")  # type: ignore[arg-type]
    await originator.originate(request())
    conn.emit(msg(Event="Newchannel", Uniqueid=CALL, Channel=name))
    conn.emit(msg(Event="Newchannel", Uniqueid="someone-else", Channel="PJSIP/x-1"))
    assert await originator.hangup(CALL)
    assert conn.sent[-1] == ("Hangup", {"Channel": name, "Cause": "16"})
    assert not any(a == "CoreShowChannels" for a, _ in conn.sent)


async def test_hangup_falls_back_to_listing_channels():
    name = "PJSIP/trunk-00000007"
    conn = FakeConn({"other": "PJSIP/trunk-00000006", CALL: name})
    originator = AmiOriginator(conn, Sink(), context="dozvon-robot")  # type: ignore[arg-type]
    await originator.originate(request())
    assert await originator.hangup(CALL)
    assert [a for a, _ in conn.sent] == ["Originate", "CoreShowChannels", "Hangup"]
    assert conn.sent[-1][1]["Channel"] == name


async def test_hangup_of_a_call_without_a_channel_is_false():
    conn = FakeConn({})
    originator = AmiOriginator(conn, Sink(), context="dozvon-robot")  # type: ignore[arg-type]
    await originator.originate(request())
    assert not await originator.hangup(CALL)
    conn.emit(msg(Event="Newchannel", Uniqueid=CALL, Channel="Local/gone;1"))
    assert not await originator.hangup(CALL)  # Asterisk: no such channel (already gone)


async def test_amd_machine_ends_the_call_as_machine():
    sink = Sink()
    originator = AmiOriginator(FakeConn(), sink, context="dozvon-robot")  # type: ignore[arg-type]
    await originator.originate(request())
    originator.on_ami_event(msg(Event="UserEvent", UserEvent="DozvonAmd", CallId=CALL,
                                Status="HUMAN", Cause="HUMAN-817-800"))  # fmt: skip
    assert sink.results == []
    originator.on_ami_event(msg(Event="UserEvent", UserEvent="DozvonAmd", CallId=CALL,
                                Status="MACHINE", Cause="LONGGREETING-1500-1500"))  # fmt: skip
    [(call_id, result)] = sink.results
    assert call_id == CALL and result.outcome is Outcome.MACHINE and not result.answered
    assert "LONGGREETING" in result.reason
    originator.on_ami_event(msg(Event="UserEvent", UserEvent="DozvonAmd", CallId="not-ours",
                                Status="MACHINE"))  # fmt: skip
    assert len(sink.results) == 1
