"""Handing a call to a human operator: AMI ``Redirect`` of the call's channel.

Protocol facts (Asterisk 22, ``manager.c`` action_redirect, ``app_audiosocket``):

- ``Redirect`` (Channel, Context, Exten, Priority) sets an async goto on a channel. A channel
  inside ``AudioSocket()`` leaves the application at once, Asterisk closes the AudioSocket
  connection, and the channel carries on at the new dialplan location. ``Response: Success``
  means the goto is set. So the robot's own end of the call (the AudioSocket hangup frame,
  sent when the session is over) must come after that answer: by then the channel has
  left the application and the frame goes nowhere.
- ``Redirect`` wants the channel's name; our call id is the channel's Uniqueid (Originate
  ``ChannelId``), looked up with ``CoreShowChannels`` (``AmiOriginator.find_channel``).
- The target is ``[dozvon-robot]`` exten ``operator`` (dialplans/extensions.conf), which
  dials ``${DOZVON_OPERATOR}``: the Dial() string from ``Settings.operator_target``, set per
  call in the Originate variables. Channel variables survive the redirect.

Why a redirect and not a channel variable plus the end of AudioSocket(): one action, and the
dialplan need not tell "the robot is done" from "the robot wants a human" after the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from robot.adapters.ami.connection import AmiConnection, AmiError

log = logging.getLogger(__name__)

OPERATOR_EXTEN = "operator"


class ChannelControl(Protocol):
    """What a transfer needs from one server's originator (``AmiOriginator``)."""

    @property
    def conn(self) -> AmiConnection: ...

    async def find_channel(self, call_id: str) -> str | None: ...


class OperatorTransfer:
    """``transfer(call_id, server)``: the call's channel to the operator step of the dialplan."""

    def __init__(
        self, originator_for: Callable[[str], ChannelControl | None], context: str
    ) -> None:
        self.originator_for = originator_for  # server name -> its originator (None: unknown)
        self.context = context

    async def transfer(self, call_id: str, server: str) -> bool:
        originator = self.originator_for(server)
        if originator is None:
            log.error("call %s: no Asterisk server %r to transfer on", call_id, server)
            return False
        name = await originator.find_channel(call_id)
        if name is None:
            log.warning("call %s: transfer: the channel is gone", call_id)
            return False
        try:
            await originator.conn.send_action(
                "Redirect",
                {
                    "Channel": name,
                    "Context": self.context,
                    "Exten": OPERATOR_EXTEN,
                    "Priority": "1",
                },
            )
        except AmiError as e:
            log.warning("call %s: transfer of %s refused: %s", call_id, name, e)
            return False
        log.info("call %s: %s sent to the operator", call_id, name)
        return True
