"""What a carrier's answer to a call means for the shop: the one table of SIP responses and
Q.850 causes Dozvon understands, and the outcome each leads to. Pure: no I/O.

How the facts reach us (the AMI adapter, robot/adapters/ami/originator.py, reads them;
verified on Asterisk 22.10 against a second Asterisk as the carrier,
tests/integration/test_sip_trunk.py):

- the far end's final response to our INVITE arrives as a ``HangupRequest`` event on our
  channel with ``TechCause`` = the SIP code and ``Cause`` = Asterisk's Q.850 translation of it
  (res_pjsip ``ast_sip_hangup_sip2cause``: 404 -> 1, 480 -> 19, 486 -> 17, 403 and 603 -> 21,
  408 -> 18, 503 -> 34). A ``Reason: Q.850;cause=N`` header in the response is not used
  for ``Cause`` on 22.10, so the SIP code is the finer fact and is looked at first: 403 and
  603 share Q.850 21, but one is the trunk refusing and the other the customer declining;
- our own ring timeout sends CANCEL: ``OriginateResponse`` Reason 3 and no ``HangupRequest``
  (the ``Hangup`` then says 19/480, Asterisk's own words for it, not the carrier's);
- channels without SIP (``Local/`` in the demo, ISDN) give only the Q.850 cause, or just the
  control frame in ``Reason`` (busy, congestion).
"""

from __future__ import annotations

from dataclasses import dataclass

from robot.core.models import Outcome


@dataclass(frozen=True)
class CarrierRow:
    """One line of the table: these codes mean this outcome."""

    outcome: Outcome
    sip: tuple[int, ...]  # SIP final responses to the INVITE
    q850: tuple[int, ...]  # Q.850 / ISDN causes, when no SIP code is known
    meaning: str
    back_off_trunk: bool = False  # the trunk is at its limit: slow down all its calls
    counts_as_attempt: bool = True  # False: the order's attempt is not used up


CARRIER_TABLE: tuple[CarrierRow, ...] = (
    CarrierRow(Outcome.BUSY, (486, 600), (17,), "the line is busy"),
    CarrierRow(
        Outcome.UNREACHABLE,
        (480, 408),
        (18, 20),
        "switched off or out of coverage (usually said in early media before the 480)",
    ),
    CarrierRow(
        Outcome.INVALID_NUMBER,
        (404, 604, 484, 410),
        (1, 22, 28),
        "no such number (unallocated, changed, or incomplete)",
    ),
    CarrierRow(Outcome.CALL_REJECTED, (603,), (21,), "the customer declined the call"),
    CarrierRow(
        Outcome.TRUNK_LIMIT,
        (503, 403),
        (34, 42),
        "the trunk refused for capacity (channel limit, congestion)",
        back_off_trunk=True,
        counts_as_attempt=False,
    ),
    CarrierRow(Outcome.NO_ANSWER, (), (19,), "rang out without an answer"),
    CarrierRow(
        Outcome.FAILED,
        (500, 502, 504, 488, 606),
        (27, 38, 41, 47, 58, 65, 88),
        "network or codec failure",
    ),
)

_BY_SIP = {code: row for row in CARRIER_TABLE for code in row.sip}
_BY_Q850 = {cause: row for row in CARRIER_TABLE for cause in row.q850}
_FAILED = next(r for r in CARRIER_TABLE if r.outcome is Outcome.FAILED)
_SIP_TEXT = {
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    410: "Gone",
    480: "Temporarily Unavailable",
    484: "Address Incomplete",
    486: "Busy Here",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


@dataclass(frozen=True)
class CarrierVerdict:
    outcome: Outcome
    reason: str  # what the carrier said, for the call's record
    back_off_trunk: bool = False


def row_for(outcome: Outcome) -> CarrierRow | None:
    return next((r for r in CARRIER_TABLE if r.outcome is outcome), None)


def carrier_verdict(sip: int | None, q850: int | None) -> CarrierVerdict | None:
    """The outcome of a call the carrier ended before answer, from its SIP final response
    (first) or its Q.850 cause; None when neither says anything we know (the caller then
    falls back to the channel's control frame)."""
    row = None
    said = ""
    if sip is not None and 400 <= sip <= 699:
        row = _BY_SIP.get(sip)
        said = f"SIP {sip}" + (f" {_SIP_TEXT[sip]}" if sip in _SIP_TEXT else "")
        if row is None:
            row = _FAILED  # an unknown 4xx-6xx: something about this call is wrong
    if row is None and q850:
        row = _BY_Q850.get(q850)
        said = f"Q.850 cause {q850}"
    if row is None:
        return None
    if q850 and sip is not None:
        said += f" (Q.850 {q850})"
    return CarrierVerdict(row.outcome, f"{row.meaning}: {said}", row.back_off_trunk)


def counts_as_attempt(outcome: Outcome | None) -> bool:
    """Whether a call that ended this way uses up one of the order's attempts."""
    row = row_for(outcome) if outcome is not None else None
    return row.counts_as_attempt if row is not None else True
