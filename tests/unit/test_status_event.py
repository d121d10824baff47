"""Validation of CRM status events: every bad input names its field, unknown keys included."""

from __future__ import annotations

import pytest

from robot.core.models import OrderError, parse_status_event


def field_of(data, **kw) -> str:
    with pytest.raises(OrderError) as e:
        parse_status_event(data, **kw)
    return e.value.field


def test_a_good_event_and_its_order_fields():
    ev = parse_status_event({"status": " Ready_For_Pickup ", "pickup_point": "ПВЗ",
                             "storage_until": "2030-01-20", "order_id": "body-id"},
                            order_id="A-1")  # fmt: skip
    assert (ev.order_id, ev.status, ev.occurred_at) == ("A-1", "ready_for_pickup", None)
    assert set(ev.order_fields()) == {"pickup_point", "storage_until"}


def test_bad_inputs_name_their_field():
    assert field_of([1]) == "body"
    assert field_of({}, order_id="A-1") == "status"
    assert field_of({"status": "Picked Up!"}, order_id="A-1") == "status"
    assert field_of({"status": "x", "colour": "red"}, order_id="A-1") == "colour"
    assert field_of({"status": "x", "occurred_at": "2030-01-01T10:00:00"}, order_id="A") == (
        "occurred_at")  # fmt: skip
    assert field_of({"status": "x", "storage_until": "soon"}, order_id="A-1") == "storage_until"
    assert field_of({"status": "x"}, order_id="no spaces") == "order_id"


def test_the_stream_may_carry_its_action():
    doc = {"action": "status", "order_id": "A-1", "status": "picked_up"}
    assert field_of(doc) == "action"
    assert parse_status_event(doc, also=frozenset({"action"})).status == "picked_up"
