"""Calls over a real SIP trunk: the robot's Asterisk registers (digest auth) with a second
Asterisk playing the carrier on loopback, and every order below crosses real SIP and RTP to the
carrier, which answers as a carrier would (dialplans/carrier/extensions_carrier.conf) or hands
the call to a simulated customer. Each row of robot/core/carrier_outcomes.py is checked from the
SIP response through the AMI facts to the outcome, the order's status and the retries; caller
ID (per shop and per trunk, in From and P-Asserted-Identity) is checked on the carrier's side;
PCMA and PCMU calls both carry DTMF (RFC 4733)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from robot.config import AsteriskServerConfig, Settings
from robot.devtools.asterisk.carrier import (
    TrunkSpec,
    dial_template,
    running_carrier,
)
from robot.devtools.asterisk.runtime import environment_problem
from robot.testing import free_port, free_udp_port

from .callstack import AMI_SECRET, call_stack, order

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

_problem = environment_problem(Settings().asterisk_root)
if _problem:
    pytestmark.append(pytest.mark.skip(reason=f"Asterisk root unusable: {_problem}"))

log = logging.getLogger(__name__)

SHOP_ID = '"Romashka" <+74951234567>'
PCMA_ID = '"Trunk A" <+74950000001>'
PCMU_ID = '"Trunk U" <+74950000002>'
POLICY = {
    "hours": "00:00-24:00",
    "min_gap": "0s",
    "max_attempts": 3,
    "retry": {
        "busy": {"delays": ["1s"], "max_attempts": 1},
        "no_answer": {"delays": ["1s"], "max_attempts": 1},
        "unreachable": {"delays": ["1s"], "max_attempts": 2},
        "call_rejected": {"delays": ["2s"], "max_attempts": 2},
        "trunk_limit": {"delays": ["1s"], "max_attempts": 3},
    },
}

# number ending -> (what the carrier does, the call outcomes in order, the final status)
ROWS = {
    "04": ("answers, presses 1 (RFC 4733)", ["confirmed"], "confirmed"),
    "05": ("answers, presses 2", ["rejected"], "rejected"),
    "06": ("486 Busy Here", ["busy"], "exhausted"),
    "07": ("180 Ringing until the robot's ring timeout", ["no_answer"], "exhausted"),
    "48": ("183 early media until the ring timeout", ["no_answer"], "exhausted"),
    "41": ("183 announcement, then 480", ["unreachable"] * 2, "exhausted"),
    "46": ("183 announcement, then Q.850 20 (480)", ["unreachable"] * 2, "exhausted"),
    "47": ("180, then Q.850 18 (408)", ["unreachable"] * 2, "exhausted"),
    "42": ("404 Not Found", ["invalid_number"], "invalid_number"),
    "43": ("180, then 603 Decline", ["call_rejected"] * 2, "exhausted"),
    "44": ("503 Service Unavailable", ["trunk_limit"] * 3, "exhausted"),
    "45": ("403 Forbidden (channel limit)", ["trunk_limit"] * 3, "exhausted"),
}


async def test_every_carrier_answer_over_the_sip_trunk() -> None:
    base = Settings()
    spec = TrunkSpec("127.0.0.1", free_udp_port(), free_udp_port())
    ami_port = free_port()
    servers = [
        AsteriskServerConfig(
            name="pcma", ami_port=ami_port, secret=AMI_SECRET,
            dial_template=dial_template("alaw"), caller_id=PCMA_ID,
        ),
        AsteriskServerConfig(
            name="pcmu", ami_port=ami_port, secret=AMI_SECRET,
            dial_template=dial_template("ulaw"), caller_id=PCMU_ID,
        ),
    ]  # fmt: skip
    async with (
        running_carrier(
            spec, base.asterisk_root, base.audio_dir, instance=f"it-carrier-{spec.carrier_sip_port}"
        ) as carrier,
        call_stack(
            trunk=spec,
            ami_port=ami_port,
            asterisk_servers=servers,
            ring_timeout_s=8,
            policy_json=json.dumps(POLICY),
            shops={"Ромашка": {"caller_id": SHOP_ID}},
            # Backed off, but not so far that the retries of the other rows take minutes.
            trunk_backoff_min_cps=0.5,
            trunk_backoff_hold_s=60,
        ) as stack,
    ):
        pool = stack.service.pool
        assert pool is not None
        async with asyncio.timeout(30):
            while len(pool.available()) < 2:
                await asyncio.sleep(0.1)
        # Two orders per DTMF row (one per shop, so per-shop and per-trunk caller IDs both go
        # out), one per other row.
        pushed: dict[str, tuple[str, str]] = {}  # order id -> (row, phone digits)
        shop_of: dict[str, str] = {}
        i = 0
        for row in ROWS:
            shops = ("Ромашка", "Other shop") if row in ("04", "05") else ("Ромашка",)
            for shop in shops:
                i += 1
                oid, phone = f"sip-{i:02d}", f"+7916555{i:02d}{row}"
                await stack.push(order(oid, phone, shop_name=shop))
                pushed[oid] = (row, phone.lstrip("+"))
                shop_of[oid] = shop

        finals = {oid: await stack.final(oid, timeout_s=150) for oid in pushed}

        placed = 0
        report = []
        for oid, (row, digits) in pushed.items():
            what, outcomes, status = ROWS[row]
            ev = finals[oid]
            history = [c["outcome"] for c in ev["history"]]
            reasons = [c["reason"] for c in ev["history"]]
            report.append(f"{row} {what}: {history} -> {ev['status']} ({reasons[-1]})")
            assert history == outcomes, (row, what, ev["history"])
            assert ev["status"] == status, (row, ev)
            # Every call crossed the trunk: the carrier saw each one.
            assert len(carrier.calls.for_number(digits)) == len(history), (row, digits)
            placed += len(history)
        log.info("calls over the trunk: %d\n%s", placed, "\n".join(report))
        assert placed == len(carrier.calls.calls)

        # 404: the CRM was told once, final; 503/403 backed the trunks off.
        assert any(r == "42" for r, _ in pushed.values())
        rates = [await stack.service.limits.trunk_rate(t) for t in ("pcma", "pcmu")]
        assert any(rate is not None and rate < 2.0 for rate in rates), rates
        log.info("trunk rates after the refusals: %s calls/s", rates)

        # Caller ID on the carrier's side: the shop's where it has one, else the trunk's; in
        # From and in P-Asserted-Identity. Codec per trunk; DTMF went through on both.
        answered = [d for r, d in pushed.values() if r in ("04", "05")]
        for _ in range(150):  # the carrier's hangup handlers report the media
            if all(c.ended for d in answered for c in carrier.calls.for_number(d)):
                break
            await asyncio.sleep(0.2)
        assert all(c.ended for d in answered for c in carrier.calls.for_number(d)), [
            c for d in answered for c in carrier.calls.for_number(d)
        ]
        codecs = set()
        for oid, (row, digits) in pushed.items():
            if row not in ("04", "05"):
                continue
            ev = finals[oid]
            (seen,) = carrier.calls.for_number(digits)
            trunk = ev["call"]["asterisk"]
            trunk_id = PCMA_ID if trunk == "pcma" else PCMU_ID
            expected = SHOP_ID if shop_of[oid] == "Ромашка" else trunk_id
            number, name = expected.split("<")[1].rstrip(">"), expected.split('"')[1]
            assert (seen.caller_id_num, seen.caller_id_name) == (number, name), (oid, seen)
            assert f"sip:{number}@" in seen.from_header, seen
            assert f"sip:{number}@" in seen.pai and name in seen.pai, seen
            assert seen.codec == ("alaw" if trunk == "pcma" else "ulaw"), (trunk, seen)
            codecs.add(seen.codec)
        assert codecs == {"alaw", "ulaw"}, codecs
