"""Standard Webhooks events in the documented generic payment shape."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

standard = get_provider("standard")


def normalize(event_type: str, data: dict, timestamp: str | None = "2024-02-15T12:00:00Z"):
    event = standard.normalize(p.record("standard", event_type, p.standard_event(event_type, data, timestamp)))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(
    ("event_type", "kind", "status"),
    [
        ("payment.pending", "payment", "pending"),
        ("payment.processing", "payment", "pending"),
        ("payment.requires_action", "payment", "requires_action"),
        ("payment.authorized", "payment", "authorized"),
        ("payment.succeeded", "payment", "succeeded"),
        ("payment.captured", "payment", "succeeded"),
        ("payment.failed", "payment", "failed"),
        ("payment.canceled", "payment", "canceled"),
    ],
)
def test_payment_events(event_type: str, kind: str, status: str) -> None:
    event = normalize(event_type, {"payment_id": "pay_123", "amount": 1500, "currency": "USD"})
    assert (event.kind, event.status, event.payment_key) == (kind, status, "standard:pay_123")
    assert (event.amount, event.currency, event.occurred_at) == (1500, "USD", "2024-02-15T12:00:00.000Z")


def test_the_object_style_names_the_payment_by_its_id() -> None:
    event = normalize("payment.succeeded", {"object": "payment", "id": "pay_9", "amount": "15.00", "currency": "EUR"})
    assert (event.payment_key, event.amount) == ("standard:pay_9", 1500)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("refund.created", "refund_pending"), ("refund.pending", "refund_pending"),
     ("refund.succeeded", "refund_succeeded"), ("refund.failed", "refund_failed"),
     ("refund.canceled", "refund_failed")],
)
def test_refund_events(event_type: str, status: str) -> None:
    event = normalize(event_type,
                      {"object": "refund", "id": "re_1", "payment_id": "pay_123", "amount": 500, "currency": "USD"})
    assert (event.kind, event.status, event.refund_id, event.refund_amount) == ("refund", status, "re_1", 500)
    assert event.payment_key == "standard:pay_123" and event.amount is None


def test_a_refund_may_name_its_refund_id_explicitly() -> None:
    event = normalize("refund.succeeded",
                      {"payment_id": "pay_123", "refund_id": "re_2", "amount": "5.00", "currency": "USD"})
    assert (event.refund_id, event.refund_amount) == ("re_2", 500)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("dispute.created", "dispute_open"), ("dispute.opened", "dispute_open"), ("dispute.updated", "dispute_open"),
     ("dispute.won", "dispute_won"), ("dispute.lost", "dispute_lost")],
)
def test_dispute_events(event_type: str, status: str) -> None:
    event = normalize(event_type, {"object": "dispute", "id": "dp_1", "payment_id": "pay_123", "currency": "USD"})
    assert (event.kind, event.status, event.dispute_id, event.payment_key) == (
        "dispute", status, "dp_1", "standard:pay_123"
    )


def test_without_a_timestamp_the_receive_time_is_used() -> None:
    event = normalize("payment.succeeded", {"payment_id": "pay_1", "amount": 1, "currency": "USD"}, timestamp=None)
    assert event.occurred_at == p.RECEIVED_AT


@pytest.mark.parametrize(
    ("event_type", "data", "reason"),
    [
        ("payment.succeeded", {"amount": 1500, "currency": "USD"}, "no payment id"),
        ("refund.succeeded", {"payment_id": "pay_1", "amount": 500, "currency": "USD"}, "no refund id"),
        ("refund.succeeded", {"payment_id": "pay_1", "refund_id": "re_1", "currency": "USD"}, "no data.amount"),
        ("payment.succeeded", {"payment_id": "pay_1", "amount": "15.001", "currency": "USD"}, "not a whole number"),
        ("payment.succeeded", {"payment_id": "pay_1", "amount": 15.5, "currency": "USD"}, "malformed amount"),
        ("payment.succeeded", {"payment_id": "pay_1", "amount": 1500}, "malformed currency"),
    ],
)
def test_malformed_events_fail_with_a_safe_reason(event_type: str, data: dict, reason: str) -> None:
    with pytest.raises(ProcessingError, match=reason):
        normalize(event_type, data)


@pytest.mark.parametrize("event_type", ["charge.succeeded", "customer.created", "payment.unknown", "unknown"])
def test_events_outside_the_mapping_are_ignored(event_type: str) -> None:
    assert standard.normalize(p.record("standard", event_type, {})) is None
