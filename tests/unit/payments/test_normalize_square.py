"""Square events to PaymentEvents: every mapped type on a payload in Square's shape."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

square = get_provider("square")


def normalize(event_type: str, object_type: str, obj: dict):
    object_id = obj.get("id", "x")
    event = square.normalize(p.record("square", event_type, p.square_event(event_type, object_type, object_id, obj)))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(
    ("event_type", "payment_status", "status"),
    [
        ("payment.created", "APPROVED", "authorized"),
        ("payment.created", "PENDING", "pending"),
        ("payment.updated", "COMPLETED", "succeeded"),
        ("payment.updated", "CANCELED", "canceled"),
        ("payment.updated", "FAILED", "failed"),
    ],
)
def test_payment_events_map_by_the_payment_status(event_type: str, payment_status: str, status: str) -> None:
    event = normalize(event_type, "payment", p.square_payment(payment_status))
    assert (event.kind, event.status) == ("payment", status)
    assert event.payment_key == f"square:{p.SQUARE_PAYMENT}"
    assert (event.amount, event.currency) == (1000, "USD")
    assert event.occurred_at == "2024-02-15T12:00:00.186Z"  # the payment's updated_at


def test_the_payment_amount_includes_the_tip_and_the_running_refund_total_is_kept() -> None:
    event = normalize("payment.updated", "payment", p.square_payment("COMPLETED", amount=1000, tip=200, refunded=300))
    assert (event.amount, event.refunded_total) == (1200, 300)


def test_a_yen_payment_is_in_whole_yen() -> None:
    event = normalize("payment.updated", "payment", p.square_payment("COMPLETED", amount=1500, currency="JPY"))
    assert (event.amount, event.currency) == (1500, "JPY")


@pytest.mark.parametrize(
    ("event_type", "refund_status", "status"),
    [
        ("refund.created", "PENDING", "refund_pending"),
        ("refund.updated", "COMPLETED", "refund_succeeded"),
        ("refund.updated", "REJECTED", "refund_failed"),
        ("refund.updated", "FAILED", "refund_failed"),
    ],
)
def test_refund_events_attach_to_their_payment_id(event_type: str, refund_status: str, status: str) -> None:
    event = normalize(event_type, "refund", p.square_refund(refund_status))
    assert (event.kind, event.status) == ("refund", status)
    assert event.payment_key == f"square:{p.SQUARE_PAYMENT}"
    assert (event.refund_id, event.refund_amount) == (f"{p.SQUARE_PAYMENT}_r1", 500)


@pytest.mark.parametrize(
    ("event_type", "state", "status"),
    [
        ("dispute.created", "EVIDENCE_REQUIRED", "dispute_open"),
        ("dispute.created", "INQUIRY_EVIDENCE_REQUIRED", "dispute_open"),
        ("dispute.state.changed", "PROCESSING", "dispute_open"),
        ("dispute.state.updated", "WON", "dispute_won"),
        ("dispute.state.changed", "INQUIRY_CLOSED", "dispute_won"),
        ("dispute.state.changed", "LOST", "dispute_lost"),
        ("dispute.state.changed", "ACCEPTED", "dispute_lost"),
    ],
)
def test_dispute_events_attach_to_the_disputed_payment(event_type: str, state: str, status: str) -> None:
    event = normalize(event_type, "dispute", p.square_dispute(state))
    assert (event.kind, event.status, event.dispute_id) == ("dispute", status, "8JBz9uH1mJTd4lWRyaHmHC")
    assert event.payment_key == f"square:{p.SQUARE_PAYMENT}"


def test_the_older_disputed_payments_list_is_read_too() -> None:
    dispute = p.square_dispute("EVIDENCE_REQUIRED")
    del dispute["disputed_payment"]
    dispute["disputed_payments"] = [{"payment_id": p.SQUARE_PAYMENT}]
    assert normalize("dispute.created", "dispute", dispute).payment_key == f"square:{p.SQUARE_PAYMENT}"


@pytest.mark.parametrize("event_type", ["order.created", "customer.created", "invoice.payment_made", "payout.sent"])
def test_events_outside_the_mapping_are_ignored(event_type: str) -> None:
    assert square.normalize(p.record("square", event_type, {})) is None


def test_a_dispute_evidence_event_without_a_dispute_is_ignored() -> None:
    document = p.square_event("dispute.evidence.created", "dispute", "x", {})
    document["data"]["object"] = {"evidence": {"id": "ev_1"}}
    assert square.normalize(p.record("square", "dispute.evidence.created", document)) is None


@pytest.mark.parametrize(
    ("payment", "reason"),
    [
        ({**p.square_payment("COMPLETED"), "status": "SOMETHING_NEW"}, "unknown status"),
        ({**p.square_payment("COMPLETED"), "total_money": {"amount": "10.00", "currency": "USD"}}, "malformed amount"),
        ({**p.square_payment("COMPLETED"), "total_money": {"amount": 100, "currency": "???"}}, "malformed currency"),
        ({**p.square_payment("COMPLETED"), "updated_at": "yesterday"}, "updated_at is not a timestamp"),
    ],
)
def test_malformed_payloads_are_processing_errors(payment: dict, reason: str) -> None:
    with pytest.raises(ProcessingError, match=reason):
        normalize("payment.updated", "payment", payment)
