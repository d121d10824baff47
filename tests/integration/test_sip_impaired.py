"""The SIP trunk over a network that misbehaves: the carrier's Asterisk runs in a network
namespace of our own, reached over a link that loses 2 % of the packets each way and delays
each by 40 ms +- 40 ms (robot/devtools/asterisk/impaired_link.py: a user-space stand-in for
``tc netem loss 2% delay 40ms 40ms``, since this kernel has no sch_netem). SIP signalling,
RTP in PCMA and RFC 4733 DTMF all cross it. The test shows what still comes through: the
robot's prompts (the customer waits to hear the question before answering), key presses and
spoken answers, with numbers.

How it degrades (measured here, Korean small model, 12 calls, ~40 000 packets, 2.0 % lost):
prompts reached the customer on every call and every key press arrived (RFC 4733 sends each
event's end three times), but only about half of the spoken yes/no answers were understood;
the rest ended ``unclear`` (retried later), never as the opposite answer. Loss is not the
cause: with jitter alone the rate was the same, and a 200 ms fixed jitter buffer on the
robot's channel (JITTERBUFFER(fixed)) did not help either, so the robot's Asterisk runs
without one. The test holds that line: prompts and keys always through, speech never decided
wrongly."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter

import pytest

from robot.config import Settings
from robot.devtools.asterisk import impaired_link
from robot.devtools.asterisk.carrier import TrunkSpec, dial_template, running_carrier
from robot.devtools.asterisk.runtime import environment_problem
from robot.devtools.demo import speech_language
from robot.testing import free_udp_port

from .callstack import call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root) or impaired_link.problem()
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"cannot build the impaired link: {_problem}"))

log = logging.getLogger(__name__)
SPEECH = speech_language(Settings())[0]
# The link's /30, on interfaces this test creates and removes (nothing else is routed there).
HOST_ADDR, NS_ADDR = "10.214.14.1", "10.214.14.2"
PREFIX = {"ru": "+7916555", "ko": "+82105555"}
ROWS = [("04", "confirmed"), ("05", "rejected")]
if SPEECH:
    ROWS += [("01", "confirmed"), ("02", "rejected")]
CALLS_PER_ROW = 3


def robot_heard(log_text: str) -> Counter[str]:
    """How each simulated customer's WaitForNoise(200,1,15) ended, from the carrier's log:
    NOISE (the robot's question reached it) or TIMEOUT (15 s without hearing it)."""
    return Counter(re.findall(r"Dozvon customer: the robot spoke: ([A-Z]+)", log_text))


async def test_prompts_dtmf_and_speech_cross_a_lossy_jittery_trunk() -> None:
    base = Settings()
    log.info("tc netem available here: %s", impaired_link.netem_available())
    spec = TrunkSpec(NS_ADDR, free_udp_port(), free_udp_port(), robot_host=HOST_ADDR)
    with impaired_link.ImpairedLink(f"sip{spec.robot_sip_port}", HOST_ADDR, NS_ADDR) as link:
        async with (
            running_carrier(
                spec, base.asterisk_root, base.audio_dir,
                instance=f"it-netem-{spec.robot_sip_port}", netns=link.netns,
            ) as carrier,
            call_stack(
                trunk=spec, dial_template=dial_template("alaw"), ring_timeout_s=15,
                listen_timeout_s=5,
            ) as stack,
        ):  # fmt: skip
            expected: dict[str, str] = {}
            n = 0
            for row, outcome in ROWS:
                lang = SPEECH if row in ("01", "02") else "ru"
                for _ in range(CALLS_PER_ROW):
                    n += 1
                    oid = f"netem-{n:02d}"
                    await stack.push(order(oid, f"{PREFIX[lang]}{n:02d}{row}", language=lang))
                    expected[oid] = outcome
            finals = {oid: await stack.final(oid, timeout_s=200) for oid in expected}
            await asyncio.sleep(1)
            spoke = robot_heard(carrier.runtime.messages_log.read_text(errors="replace"))
    got = {oid: ev["call"]["outcome"] for oid, ev in finals.items()}
    right = Counter(
        "dtmf" if ev["call"]["reason"].startswith("dtmf") else "speech"
        for oid, ev in finals.items()
        if got[oid] == expected[oid]
    )
    wrong = {
        oid: (expected[oid], finals[oid]["call"]) for oid in expected if got[oid] != expected[oid]
    }
    log.info(
        "impaired trunk: %d calls, %d right (%s), wrong: %s; the robot's question reached the "
        "customer: %s; link: %s; carrier saw %d calls",
        len(expected), sum(right.values()), dict(right), wrong, dict(spoke), link.counters,
        len(carrier.calls.calls),
    )  # fmt: skip
    assert len(carrier.calls.calls) == len(expected)  # every call crossed the link
    dropped = link.counters["dropped_to_ns"] + link.counters["dropped_from_ns"]
    assert dropped > 0 and link.counters["to_ns"] > 1000  # the link really lost RTP
    assert spoke["NOISE"] == len(expected), spoke  # every customer heard the question
    dtmf_calls = sum(1 for row, _ in ROWS if row in ("04", "05")) * CALLS_PER_ROW
    assert right["dtmf"] == dtmf_calls, wrong  # every key press came through
    # A garbled spoken answer must end unclear (retried), never as the other answer.
    assert all(finals[oid]["call"]["outcome"] == "unclear" for oid in wrong), wrong
