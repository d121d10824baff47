"""Webhook signing and backoff: pure functions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from robot.adapters.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_delay,
    sign,
    verify,
    webhook_request,
)
from robot.core.models import OrderStatus
from robot.core.records import ResultEvent


def test_sign_is_hmac_sha256_hex():
    body = b'{"order_id":"A-1"}'
    assert sign(body, "s3cret") == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_verify_accepts_the_header_and_rejects_tampering():
    body = b'{"order_id":"A-1","status":"confirmed"}'
    header = "sha256=" + sign(body, "s3cret")
    assert verify(body, "s3cret", header)
    assert verify(body, "s3cret", sign(body, "s3cret").upper())
    assert not verify(body.replace(b"confirmed", b"rejected"), "s3cret", header)
    assert not verify(body, "other", header)
    assert not verify(body, "s3cret", "sha256=")


def test_request_headers_sign_the_exact_body():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    event = ResultEvent(delivery_id="A-1:c1", order_id="A-1", status=OrderStatus.CONFIRMED,
                        final=True, occurred_at=now)  # fmt: skip
    body, headers = webhook_request(event, "A-1:c1", "s3cret", now)
    assert verify(body, "s3cret", headers[SIGNATURE_HEADER])
    assert headers[DELIVERY_HEADER] == "A-1:c1"
    assert headers[TIMESTAMP_HEADER] == str(int(now.timestamp()))
    assert ResultEvent.model_validate_json(body) == event


def test_backoff_doubles_with_jitter_and_caps():
    for r in (0.0, 0.5, 0.999):
        delays = [backoff_delay(n, base_s=1, max_s=300, rand=lambda r=r: r) for n in range(1, 12)]
        assert delays[0] >= 0.8 and delays[1] > delays[0] and delays[2] > delays[1]
        assert max(delays) <= 300
    assert backoff_delay(3, base_s=1, max_s=300, rand=lambda: 0.5) == 4
    assert backoff_delay(30, base_s=1, max_s=300, rand=lambda: 0.5) == 300
    # Worst-case jitter still grows: high jitter on attempt n < low jitter on attempt n + 1.
    assert backoff_delay(1, base_s=1, max_s=300, rand=lambda: 1.0) < backoff_delay(
        2, base_s=1, max_s=300, rand=lambda: 0.0
    )
