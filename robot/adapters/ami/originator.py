"""The Originator the dialer uses (AmiOriginator), and how it reads AMI facts as outcomes.

Protocol facts (Asterisk 22, ``manager.c`` / ``enum ast_control_frame_type``):
- ``Originate`` with ``Async: true`` answers ``Response: Success`` once the call is queued,
  then sends one ``OriginateResponse`` event with our ``ActionID`` when the callee answered or
  the attempt ended. ``Response: Success`` + ``Reason: 4`` means answered.
- ``Reason`` is the last control frame seen on the outbound channel: 0 no such channel or
  failed before any progress (also a ring timeout when the far end never signalled ringing),
  1 hung up (rejected) before answer, 3 ringing (so a ring timeout), 4 answered, 5 busy,
  8 congestion.
- A ``Hangup`` event (class "call") carries the channel's ``Uniqueid`` and ``Cause``. On
  hangup, ``app_audiosocket`` just closes the TCP connection (no 0x00 frame), so this event is
  how we know the caller hung up rather than Asterisk dying. A caller's hangup has a Q.850
  cause (16 normal clearing, 17 busy, ...); channels Asterisk hangs up while shutting down
  have cause 0 ("Unknown"), about a second before the AMI socket closes (seen on 22.10).
- ``ChannelId`` sets the new channel's unique id; we pass our call id so logs, CDRs and the
  AudioSocket UUID all carry one identifier.
- The ``Hangup`` action needs the channel's name (or ``/regex/`` over names), not its
  Uniqueid. ``Newchannel`` events (class "call") carry both, so we remember the name of each
  of our calls; else ``CoreShowChannels`` lists every channel as ``CoreShowChannel`` events
  (``Uniqueid``, ``Channel``, our ``ActionID``) ended by ``CoreShowChannelsComplete``. A
  channel that is gone answers ``Response: Error`` ("No such channel").
- A call the far end refused before answer (a SIP trunk): a ``HangupRequest`` event on our
  channel carries ``Cause`` (Q.850) and ``TechCause`` (the SIP final response: 404, 480, 486,
  503, 603, ...); ``OriginateResponse`` then has Reason 0 whatever the code (busy included).
  The two arrive in either order (seen on 22.10: a 603 after 180 came after the
  OriginateResponse, a 404 before it); the ``Hangup`` event always comes after the
  ``HangupRequest``, so a failed OriginateResponse waits for our channel's ``Hangup`` (at most
  HANGUP_WAIT_S) before deciding. Our own ring timeout is Reason 3 with no ``HangupRequest``;
  its ``Hangup`` says 19 / TechCause 480, Asterisk's words for the CANCEL, not the carrier's.
  What each code means is robot/core/carrier_outcomes.py; ``Local/`` channels (the demo) have
  no TechCause and cause 0, so their control frame decides as before.
- The dialplan's AMD branch reports ``UserEvent: DozvonAmd`` with ``CallId`` and ``Status``
  (MACHINE, HUMAN, NOTSURE, HANGUP); user events need the "user" class in the login's Events.
"""

from __future__ import annotations

import asyncio
import logging

from robot.adapters.ami.codec import AmiMessage
from robot.adapters.ami.connection import AmiConnection, AmiError
from robot.core.carrier_outcomes import carrier_verdict
from robot.core.models import Outcome
from robot.ports import CallEventSink, OriginateOutcome, OriginateRequest

log = logging.getLogger(__name__)

REASON_FAILED = 0
REASON_HANGUP = 1
REASON_RINGING = 3
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8
CAUSE_NOT_DEFINED = 0
CAUSE_NORMAL_CLEARING = 16
LIST_TIMEOUT_S = 5.0
HANGUP_WAIT_S = 2.0  # a failed OriginateResponse waits this long for the channel's Hangup


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def map_originate_response(
    response: str,
    reason_code: int,
    *,
    sip_code: int | None = None,
    q850: int | None = None,
) -> OriginateOutcome:
    """Map an OriginateResponse (``Response``, ``Reason``) and, for a call the far end ended
    before answer, its ``HangupRequest`` (``TechCause`` = SIP code, ``Cause`` = Q.850) to what
    happened to the call. Our own ring timeout (Reason 3) is no answer whatever the causes."""
    if response.lower() == "success" or reason_code == REASON_ANSWERED:
        return OriginateOutcome(True, None, "answered")
    if reason_code != REASON_RINGING:
        verdict = carrier_verdict(sip_code, q850)
        if verdict is not None:
            return OriginateOutcome(
                False, verdict.outcome, verdict.reason, back_off_trunk=verdict.back_off_trunk
            )
    if reason_code == REASON_BUSY:
        return OriginateOutcome(False, Outcome.BUSY, "busy")
    if reason_code == REASON_RINGING:
        return OriginateOutcome(False, Outcome.NO_ANSWER, "rang out, no answer")
    if reason_code == REASON_HANGUP:
        return OriginateOutcome(False, Outcome.NO_ANSWER, "declined before answer")
    if reason_code == REASON_CONGESTION:
        return OriginateOutcome(False, Outcome.FAILED, "congestion")
    return OriginateOutcome(False, Outcome.FAILED, f"originate failed (reason {reason_code})")


class AmiOriginator:
    """Originates calls over one AMI connection and routes their results to a sink."""

    def __init__(self, conn: AmiConnection, sink: CallEventSink, *, context: str) -> None:
        self.conn = conn
        self.sink = sink
        self.context = context
        self._inflight: set[str] = set()
        self._calls: set[str] = set()  # ours until forgotten: their channel names are kept
        self._channels: dict[str, str] = {}  # call id -> channel name (Newchannel)
        self._listings: dict[str, tuple[list[AmiMessage], asyncio.Future[None]]] = {}
        # The far end's causes (HangupRequest), and failed OriginateResponses waiting for the
        # channel's Hangup: call id -> (Response, Reason, timer).
        self._far_end: dict[str, tuple[int | None, int | None]] = {}
        self._hung_up: set[str] = set()
        self._failures: dict[str, tuple[str, int, asyncio.TimerHandle | None]] = {}
        conn.add_listener(self)

    async def originate(self, req: OriginateRequest) -> None:
        fields: list[tuple[str, str]] = [
            ("Channel", req.channel),
            ("Context", self.context),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", str(int(req.timeout_s * 1000))),
            ("CallerID", req.caller_id),
            ("Async", "true"),
            ("ChannelId", req.call_id),
            ("Variable", f"CALL_ID={req.call_id}"),
            ("Variable", f"ORDER_ID={req.order_id}"),
        ]
        fields += [("Variable", f"{k}={v}") for k, v in req.variables.items()]
        self._inflight.add(req.call_id)
        self._calls.add(req.call_id)
        try:
            await self.conn.send_action("Originate", fields, action_id=req.call_id)
        except AmiError:
            self._inflight.discard(req.call_id)
            raise

    def forget(self, call_id: str) -> None:
        self._inflight.discard(call_id)
        self._calls.discard(call_id)
        self._channels.pop(call_id, None)
        self._far_end.pop(call_id, None)
        self._hung_up.discard(call_id)
        pending = self._failures.pop(call_id, None)
        if pending is not None and pending[2] is not None:
            pending[2].cancel()

    async def hangup(self, call_id: str, server: str | None = None) -> bool:
        """Hang up our call's channel (ringing or answered); False if it has no channel (not
        created yet, or already gone). ``server`` is for the pool's signature; unused."""
        name = self._channels.get(call_id) or await self.find_channel(call_id)
        if name is None:
            return False
        try:
            await self.conn.send_action(
                "Hangup", {"Channel": name, "Cause": str(CAUSE_NORMAL_CLEARING)}
            )
        except AmiError as e:
            log.info("call %s: hangup of %s refused: %s", call_id, name, e)
            self._channels.pop(call_id, None)
            return False
        log.info("call %s: hung up channel %s", call_id, name)
        return True

    async def find_channel(self, call_id: str) -> str | None:
        """The name of the live channel whose Uniqueid is ``call_id`` (CoreShowChannels)."""
        aid = f"dz-list-{call_id}"
        rows: list[AmiMessage] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._listings[aid] = (rows, done)
        try:
            await self.conn.send_action("CoreShowChannels", action_id=aid)
            await asyncio.wait_for(done, LIST_TIMEOUT_S)
        except (AmiError, TimeoutError) as e:
            log.warning("call %s: listing channels failed: %r", call_id, e)
            return None
        finally:
            self._listings.pop(aid, None)
        for row in rows:
            if row.get("Uniqueid") == call_id:
                return row.get("Channel")
        return None

    # AmiListener
    def on_ami_event(self, msg: AmiMessage) -> None:
        listing = self._listings.get(msg.action_id or "")
        if listing is not None:
            if msg.event == "CoreShowChannel":
                listing[0].append(msg)
            elif msg.event == "CoreShowChannelsComplete" and not listing[1].done():
                listing[1].set_result(None)
            return
        if msg.event == "Newchannel":
            uid = msg.get("Uniqueid") or ""
            if uid in self._calls and msg.get("Channel"):
                self._channels[uid] = msg["Channel"]
            return
        if msg.event == "UserEvent" and (msg.get("UserEvent") or "") == "DozvonAmd":
            self._amd_result(msg)
            return
        if msg.event == "HangupRequest":
            uid = msg.get("Uniqueid") or ""
            if uid in self._calls:
                self._far_end[uid] = (_int(msg.get("TechCause")), _int(msg.get("Cause")))
            return
        if msg.event == "Hangup":
            # Our call id is the outbound channel's Uniqueid (Originate ChannelId).
            uid = msg.get("Uniqueid") or ""
            cause = _int(msg.get("Cause")) or CAUSE_NOT_DEFINED
            self.sink.channel_hungup(uid, cause, msg.get("Cause-txt") or "")
            if uid in self._calls:
                self._hung_up.add(uid)
                if uid in self._failures:
                    self._report_failure(uid)
            return
        if msg.event != "OriginateResponse":
            return
        call_id = msg.action_id or ""
        if call_id not in self._inflight:
            return
        self._inflight.discard(call_id)
        code = _int(msg.get("Reason", "0"))
        code = REASON_FAILED if code is None else code
        response = msg.get("Response", "") or ""
        answered = response.lower() == "success" or code == REASON_ANSWERED
        if answered or code == REASON_RINGING or call_id in self._hung_up:
            self._failures[call_id] = (response, code, None)
            self._report_failure(call_id)
            return
        # The far end's causes may still be on their way: wait for the channel's Hangup.
        timer = asyncio.get_running_loop().call_later(HANGUP_WAIT_S, self._report_failure, call_id)
        self._failures[call_id] = (response, code, timer)

    def _report_failure(self, call_id: str) -> None:
        pending = self._failures.pop(call_id, None)
        if pending is None:
            return
        response, code, timer = pending
        if timer is not None:
            timer.cancel()
        sip_code, q850 = self._far_end.get(call_id, (None, None))
        result = map_originate_response(response, code, sip_code=sip_code, q850=q850)
        log.info(
            "call %s: OriginateResponse %s reason %s, far end %s/%s -> %s",
            call_id,
            response,
            code,
            sip_code,
            q850,
            result.reason,
        )
        self.sink.originate_result(call_id, result)

    def _amd_result(self, msg: AmiMessage) -> None:
        call_id = msg.get("CallId") or ""
        status = (msg.get("Status") or "").upper()
        log.info("call %s: AMD %s (%s)", call_id, status, msg.get("Cause"))
        if call_id in self._calls and status == "MACHINE":
            reason = f"answering machine (AMD: {msg.get('Cause') or 'machine'})"
            self.sink.originate_result(call_id, OriginateOutcome(False, Outcome.MACHINE, reason))

    def on_ami_connected(self) -> None:
        pass

    def on_ami_lost(self) -> None:
        # Originates queued on the lost connection will never report back.
        self._inflight.clear()
        self.sink.asterisk_lost(self.conn.name)
