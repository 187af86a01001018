"""PayPal events to PaymentEvents: every mapped type on a payload in PayPal's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

paypal = get_provider("paypal")
ORDER_KEY, CAPTURE_KEY, AUTH_KEY = (f"paypal:{x}" for x in (p.PAYPAL_ORDER, p.PAYPAL_CAPTURE, p.PAYPAL_AUTHORIZATION))


def normalize(event_type: str, resource_type: str, resource: dict):
    document = p.paypal_event(event_type, resource_type, resource)
    event = paypal.normalize(p.record("paypal", event_type, document, event_id=document["id"]))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(
    ("event_type", "capture_status", "status"),
    [
        ("PAYMENT.CAPTURE.COMPLETED", "COMPLETED", "succeeded"),
        ("PAYMENT.CAPTURE.PENDING", "PENDING", "pending"),
        ("PAYMENT.CAPTURE.DENIED", "DENIED", "failed"),
        ("PAYMENT.CAPTURE.DECLINED", "DECLINED", "failed"),
    ],
)
def test_capture_events_are_keyed_by_their_order_and_link_the_capture(event_type: str, capture_status: str,
                                                                      status: str) -> None:
    event = normalize(event_type, "capture", p.paypal_capture(capture_status))
    assert (event.kind, event.status) == ("payment", status)
    assert event.payment_key == ORDER_KEY
    assert event.related_payment_keys == (CAPTURE_KEY,)
    assert (event.amount, event.currency) == (1000, "USD")
    assert event.occurred_at == "2024-02-15T12:00:02.000Z"  # the resource's update_time


def test_a_capture_without_an_order_is_keyed_by_its_authorization_else_by_itself() -> None:
    by_auth = normalize("PAYMENT.CAPTURE.COMPLETED", "capture",
                        p.paypal_capture("COMPLETED", order_id=None, authorization_id=p.PAYPAL_AUTHORIZATION))
    assert (by_auth.payment_key, by_auth.related_payment_keys) == (AUTH_KEY, (CAPTURE_KEY,))
    alone = normalize("PAYMENT.CAPTURE.COMPLETED", "capture", p.paypal_capture("COMPLETED", order_id=None))
    assert (alone.payment_key, alone.related_payment_keys) == (CAPTURE_KEY, ())


@pytest.mark.parametrize(
    ("event_type", "auth_status", "status"),
    [("PAYMENT.AUTHORIZATION.CREATED", "CREATED", "authorized"),
     ("PAYMENT.AUTHORIZATION.VOIDED", "VOIDED", "canceled")],
)
def test_authorization_events(event_type: str, auth_status: str, status: str) -> None:
    event = normalize(event_type, "authorization", p.paypal_authorization(auth_status))
    assert (event.kind, event.status, event.payment_key) == ("payment", status, ORDER_KEY)
    assert event.related_payment_keys == (AUTH_KEY,)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("10.00", "USD", 1000), ("1500", "JPY", 1500), ("12.345", "KWD", 12345), ("100", "HUF", 10000)],
)
def test_decimal_amounts_use_the_currency_exponent(value: str, currency: str, minor: int) -> None:
    event = normalize("PAYMENT.CAPTURE.COMPLETED", "capture",
                      p.paypal_capture("COMPLETED", value=value, currency=currency))
    assert (event.amount, event.currency) == (minor, currency)


@pytest.mark.parametrize(
    ("value", "currency", "reason"),
    [("10.001", "USD", "not a whole number"), ("1.5", "JPY", "not a whole number"),
     ("10,00", "EUR", "malformed amount"), ("-10.00", "USD", "malformed amount"), ("", "USD", "malformed amount")],
)
def test_malformed_amounts_fail_with_a_safe_reason(value: str, currency: str, reason: str) -> None:
    with pytest.raises(ProcessingError) as raised:
        normalize("PAYMENT.CAPTURE.COMPLETED", "capture", p.paypal_capture("COMPLETED", value=value, currency=currency))
    assert reason in raised.value.reason and "resource.amount.value" in raised.value.reason


@pytest.mark.parametrize("event_type", ["PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"])
def test_refunds_reach_their_capture_through_the_up_link(event_type: str) -> None:
    event = normalize(event_type, "refund", p.paypal_refund(value="4.00", total="6.00"))
    assert (event.kind, event.status) == ("refund", "refund_succeeded")
    assert event.payment_key == CAPTURE_KEY  # the store resolves it to the order (see the store tests)
    assert (event.refund_id, event.refund_amount, event.refunded_total) == ("1JU08902781691411", 400, 600)


def test_a_pending_refund() -> None:
    assert normalize("PAYMENT.CAPTURE.REFUNDED", "refund", p.paypal_refund(status="PENDING")).status == "refund_pending"


def test_a_refund_without_an_up_link_fails() -> None:
    refund = p.paypal_refund()
    refund["links"] = refund["links"][:1]
    with pytest.raises(ProcessingError, match="up link"):
        normalize("PAYMENT.CAPTURE.REFUNDED", "refund", refund)


@pytest.mark.parametrize(
    ("event_type", "dispute_status", "outcome", "status"),
    [
        ("CUSTOMER.DISPUTE.CREATED", "OPEN", None, "dispute_open"),
        ("CUSTOMER.DISPUTE.UPDATED", "WAITING_FOR_SELLER_RESPONSE", None, "dispute_open"),
        ("CUSTOMER.DISPUTE.UPDATED", "UNDER_REVIEW", None, "dispute_open"),
        ("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED", "RESOLVED_SELLER_FAVOUR", "dispute_won"),
        ("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED", "CANCELED_BY_BUYER", "dispute_won"),
        ("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED", "RESOLVED_BUYER_FAVOUR", "dispute_lost"),
        ("CUSTOMER.DISPUTE.RESOLVED", "RESOLVED", "ACCEPTED", "dispute_lost"),
    ],
)
def test_dispute_events_name_the_capture(
    event_type: str, dispute_status: str, outcome: str | None, status: str
) -> None:
    event = normalize(event_type, "dispute", p.paypal_dispute(dispute_status, outcome))
    assert (event.kind, event.status, event.dispute_id) == ("dispute", status, "PP-D-27803")
    assert event.payment_key == CAPTURE_KEY and event.currency == "USD"


def test_the_real_2017_paypal_delivery_is_not_a_payment_event() -> None:
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "paypal" / "paypal_real_sandbox_2017.json"
    body = json.loads(fixture.read_text())["body"]
    document = json.loads(body)
    assert paypal.normalize(p.record("paypal", document["event_type"], document)) is None  # BILLING.PLAN.CREATED


@pytest.mark.parametrize("event_type", ["CHECKOUT.ORDER.APPROVED", "PAYMENT.SALE.REVERSED", "BILLING.PLAN.CREATED"])
def test_events_outside_the_mapping_are_ignored(event_type: str) -> None:
    assert paypal.normalize(p.record("paypal", event_type, {})) is None
