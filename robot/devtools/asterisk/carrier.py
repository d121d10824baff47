"""A telephony carrier on loopback: a second chrooted Asterisk the robot's Asterisk reaches over
a real PJSIP trunk (tests, ``robot demo --sip``).

Facts relied on (Asterisk 22.10, res_pjsip):

- Both instances run from the same root with their own instance directory and ports
  (robot/devtools/asterisk/runtime.py); the templates in ``dialplans/`` are shared, and each
  side adds an overlay: ``dialplans/trunk/`` (the robot's transport, outbound registration,
  the ``carrier`` and ``carrier-pcmu`` endpoints) and ``dialplans/carrier/`` (the carrier's
  transport, the registrar's AOR and auth for the robot, its dialplan and RTP range).
- The robot registers with digest auth (REGISTER answered 401, then 200) and its INVITEs are
  challenged the same way; ``pjsip show registrations`` says ``Registered`` once done, and the
  carrier's ``pjsip show contacts`` lists the robot's contact.
- The carrier identifies the robot by source address (``identify``), not by the From user,
  since From carries the caller ID of each call.
- Calls: ``PJSIP/<digits>@carrier`` offers PCMA then PCMU, ``PJSIP/<digits>@carrier-pcmu``
  only PCMU; the carrier answers with the first codec of the offer it supports. DTMF goes as
  RFC 4733 telephone-events on both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot.devtools.asterisk.runtime import TEMPLATES_DIR, AsteriskError, AsteriskRuntime
from robot.testing import free_port

log = logging.getLogger(__name__)

TRUNK_OVERLAY = TEMPLATES_DIR / "trunk"
CARRIER_OVERLAY = TEMPLATES_DIR / "carrier"
TRUNK_USER = "dozvon"
ENDPOINT = {"alaw": "carrier", "ulaw": "carrier-pcmu"}


@dataclass(frozen=True)
class TrunkSpec:
    """How the robot's Asterisk reaches the carrier, and with which credentials."""

    carrier_host: str
    carrier_sip_port: int
    robot_sip_port: int
    robot_host: str = "127.0.0.1"
    user: str = TRUNK_USER
    secret: str = field(default_factory=lambda: secrets.token_hex(12))

    def robot_placeholders(self) -> dict[str, str]:
        """For the robot's AsteriskRuntime (with ``overlay_dirs=[TRUNK_OVERLAY]``)."""
        return {
            "SIP_BIND": self.robot_host,
            "SIP_PORT": str(self.robot_sip_port),
            "CARRIER_HOST": self.carrier_host,
            "CARRIER_PORT": str(self.carrier_sip_port),
            "TRUNK_USER": self.user,
            "TRUNK_SECRET": self.secret,
        }

    def carrier_placeholders(self) -> dict[str, str]:
        return {
            "SIP_BIND": self.carrier_host,
            "SIP_PORT": str(self.carrier_sip_port),
            "ROBOT_HOST": self.robot_host,
            "TRUNK_USER": self.user,
            "TRUNK_SECRET": self.secret,
        }


def dial_template(codec: str = "alaw") -> str:
    """The robot's dial string over the trunk: ``alaw`` (PCMA first) or ``ulaw`` (PCMU)."""
    return f"PJSIP/{{digits}}@{ENDPOINT[codec]}"


def carrier_runtime(
    spec: TrunkSpec,
    root: Path,
    audio_dir: Path | None,
    *,
    ami_port: int,
    ami_user: str,
    ami_secret: str,
    instance: str,
    netns: str | None = None,
) -> AsteriskRuntime:
    """The carrier's Asterisk: the shared templates plus ``dialplans/carrier/``. Its AudioSocket
    placeholders are unused (its dialplan never reaches the robot's media)."""
    placeholders = spec.carrier_placeholders()
    if netns:  # its AMI is reached over the namespace's link, from the robot's address
        placeholders["AMI_PERMIT"] = f"permit = {spec.robot_host}/255.255.255.255"
    return AsteriskRuntime(
        root,
        ami_port,
        ami_user,
        ami_secret,
        "127.0.0.1",
        9,
        audio_dir,
        instance=instance,
        overlay_dirs=[CARRIER_OVERLAY],
        extra_placeholders=placeholders,
        netns=netns,
        ami_host=spec.carrier_host if netns else "127.0.0.1",
    )


def robot_trunk_overlay(spec: TrunkSpec) -> tuple[list[Path], dict[str, str]]:
    """``overlay_dirs`` and ``extra_placeholders`` for the robot's AsteriskRuntime."""
    return [TRUNK_OVERLAY], spec.robot_placeholders()


def registration_state(robot: AsteriskRuntime) -> str:
    """The robot's outbound registration to the carrier as ``pjsip show registrations`` says
    it (Registered, Unregistered, Rejected, ...), or "" if not listed."""
    for line in robot.cli("pjsip show registrations").splitlines():
        # carrier/<server uri>  <auth>  <status>  [(exp. 82s)]
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith("carrier/"):
            return parts[2]
    return ""


def wait_registered(robot: AsteriskRuntime, timeout_s: float = 30.0) -> float:
    """Block until the robot's Asterisk is registered with the carrier; return the seconds it
    took. Raises AsteriskError with both sides' state on timeout."""
    started = time.monotonic()
    state = ""
    while time.monotonic() - started < timeout_s:
        state = registration_state(robot)
        if state == "Registered":
            took = time.monotonic() - started
            log.info("trunk registered with the carrier in %.2fs", took)
            return took
        time.sleep(0.2)
    raise AsteriskError(
        f"the robot's Asterisk did not register with the carrier in {timeout_s:.0f}s "
        f"(state {state or 'not listed'})\n{robot.cli('pjsip show registrations')}"
    )


@dataclass
class CarrierCall:
    """What the carrier saw of one call the robot sent over the trunk."""

    exten: str
    caller_id_num: str
    caller_id_name: str
    from_header: str
    pai: str
    codec: str = ""  # at hangup: alaw or ulaw
    ended: bool = False


class CarrierCalls:
    """An AMI listener on the carrier (login with Events: user) collecting its
    ``DozvonCarrierCall`` / ``DozvonCarrierHangup`` user events (dialplans/carrier/)."""

    def __init__(self) -> None:
        self.calls: list[CarrierCall] = []

    def on_ami_event(self, msg: Any) -> None:
        if msg.event != "UserEvent":
            return
        kind = msg.get("UserEvent") or ""
        if kind == "DozvonCarrierCall":
            self.calls.append(
                CarrierCall(
                    exten=msg.get("Number") or "",
                    caller_id_num=msg.get("CallerIDNum") or "",
                    caller_id_name=msg.get("CallerIDName") or "",
                    from_header=msg.get("From") or "",
                    pai=msg.get("PAI") or "",
                )
            )
        elif kind == "DozvonCarrierHangup":
            exten = msg.get("Number") or ""
            open_calls = [c for c in self.calls if c.exten == exten and not c.ended]
            if open_calls:
                call = open_calls[0]
                call.ended = True
                call.codec = (msg.get("Codec") or "").strip("()")

    def on_ami_connected(self) -> None:
        pass

    def on_ami_lost(self) -> None:
        pass

    def for_number(self, digits: str) -> list[CarrierCall]:
        return [c for c in self.calls if c.exten == digits]


@dataclass
class RunningCarrier:
    runtime: AsteriskRuntime
    calls: CarrierCalls
    spec: TrunkSpec


@contextlib.asynccontextmanager
async def running_carrier(
    spec: TrunkSpec,
    root: Path,
    audio_dir: Path | None,
    *,
    instance: str,
    netns: str | None = None,
    ami_port: int | None = None,
) -> AsyncIterator[RunningCarrier]:
    """Start the carrier's Asterisk and listen to its user events; stop and clean up after."""
    from robot.adapters.ami.connection import AmiConnection

    secret = secrets.token_hex(8)
    # In a namespace of our own every port is free; else one free on the carrier's address.
    port = ami_port or free_port("127.0.0.1" if netns else spec.carrier_host)
    runtime = carrier_runtime(
        spec, root, audio_dir, ami_port=port, ami_user="carrier", ami_secret=secret,
        instance=instance, netns=netns,
    )  # fmt: skip
    calls = CarrierCalls()
    conn = AmiConnection(runtime.ami_host, port, "carrier", secret, events="user", name="carrier")
    conn.add_listener(calls)
    try:
        await asyncio.to_thread(runtime.start)
        await conn.start()
        await conn.wait_connected(15)
        yield RunningCarrier(runtime, calls, spec)
    finally:
        await conn.stop()
        await asyncio.to_thread(runtime.stop)
        runtime.remove_files()
