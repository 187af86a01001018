"""Razorpay events (payments, refunds, disputes) in the payment vocabulary; amounts in paise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

razorpay = get_provider("razorpay")
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "razorpay" / "fake_payment_authorized_webhook.json"
CREATED = 1_707_998_400  # 2024-02-15T12:00:00Z


def rz_event(event_type: str, **entities: dict) -> dict:
    return {"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": event_type, "contains": list(entities),
            "payload": {name: {"entity": entity} for name, entity in entities.items()}, "created_at": CREATED}


def payment(amount: int = 50000, currency: str = "INR") -> dict:
    return {"id": "pay_29QQoUBi66xm2f", "entity": "payment", "amount": amount, "currency": currency}


def normalize(document: dict):
    event = razorpay.normalize(p.record("razorpay", document["event"], document, event_id="KMjHCB3XJhDSx7"))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("payment.authorized", "authorized"), ("payment.captured", "succeeded"), ("payment.failed", "failed")],
)
def test_payment_events_carry_the_amount_in_paise(event_type: str, status: str) -> None:
    event = normalize(rz_event(event_type, payment=payment()))
    assert (event.kind, event.status, event.payment_key) == ("payment", status, "razorpay:pay_29QQoUBi66xm2f")
    assert (event.amount, event.currency, event.occurred_at) == (50000, "INR", "2024-02-15T12:00:00.000Z")


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("refund.created", "refund_pending"), ("refund.processed", "refund_succeeded"),
     ("refund.failed", "refund_failed")],
)
def test_refund_events_name_their_payment_refund_and_amount(event_type: str, status: str) -> None:
    refund = {"id": "rfnd_FP8DDKxqJif6ca", "entity": "refund", "amount": 300100, "currency": "INR",
              "payment_id": "pay_FIKOnlyii5QGNx", "status": "processed"}  # razorpay-python tests/mocks/fake_refund.json
    event = normalize(rz_event(event_type, refund=refund, payment=payment()))
    assert (event.kind, event.status, event.payment_key) == ("refund", status, "razorpay:pay_FIKOnlyii5QGNx")
    assert (event.refund_id, event.refund_amount, event.amount) == ("rfnd_FP8DDKxqJif6ca", 300100, None)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("payment.dispute.created", "dispute_open"), ("payment.dispute.under_review", "dispute_open"),
     ("payment.dispute.action_required", "dispute_open"), ("payment.dispute.won", "dispute_won"),
     ("payment.dispute.lost", "dispute_lost")],
)
def test_dispute_events(event_type: str, status: str) -> None:
    dispute = {"id": "disp_Esz7KAitoYM7PJ", "entity": "dispute", "payment_id": "pay_29QQoUBi66xm2f",
               "amount": 50000, "currency": "INR", "status": "open"}
    event = normalize(rz_event(event_type, payment=payment(), dispute=dispute))
    assert (event.kind, event.status, event.dispute_id) == ("dispute", status, "disp_Esz7KAitoYM7PJ")
    assert event.payment_key == "razorpay:pay_29QQoUBi66xm2f"


@pytest.mark.parametrize(
    "event_type", ["payment.dispute.closed", "order.paid", "settlement.processed", "payment.downtime.started"]
)
def test_other_events_are_outside_the_mapping(event_type: str) -> None:
    assert normalize(rz_event(event_type, payment=payment())) is None


def test_the_sdks_published_event_normalizes() -> None:
    event = normalize(json.loads(FIXTURE.read_bytes()))
    assert (event.status, event.amount, event.currency) == ("authorized", 1000000, "INR")
    assert event.payment_key == "razorpay:pay_6koWN7bvxujzxM"


@pytest.mark.parametrize(
    "document",
    [rz_event("payment.captured"), rz_event("payment.captured", payment={"id": "pay_1", "currency": "INR"}),
     rz_event("payment.captured", payment={"id": "pay_1", "amount": "500", "currency": "INR"}),
     rz_event("refund.processed", refund={"id": "rfnd_1", "amount": 100, "currency": "INR"})],
)
def test_a_mapped_event_that_cannot_be_read_is_a_processing_error(document: dict) -> None:
    with pytest.raises(ProcessingError):
        normalize(document)
