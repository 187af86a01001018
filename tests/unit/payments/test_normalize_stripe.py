"""Stripe events to PaymentEvents: every mapped type on a payload in Stripe's shape."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

stripe = get_provider("stripe")


def normalize(event_type: str, obj: dict, previous: dict | None = None):
    event = stripe.normalize(p.record("stripe", event_type, p.stripe_event(event_type, obj, previous=previous)))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(
    ("event_type", "intent_status", "status"),
    [
        ("payment_intent.created", "requires_payment_method", "pending"),
        ("payment_intent.processing", "processing", "pending"),
        ("payment_intent.requires_action", "requires_action", "requires_action"),
        ("payment_intent.amount_capturable_updated", "requires_capture", "authorized"),
        ("payment_intent.succeeded", "succeeded", "succeeded"),
        ("payment_intent.payment_failed", "requires_payment_method", "failed"),
        ("payment_intent.canceled", "canceled", "canceled"),
    ],
)
def test_payment_intent_events(event_type: str, intent_status: str, status: str) -> None:
    # GIVEN a PaymentIntent event WHEN normalized
    event = normalize(event_type, p.payment_intent(intent_status))
    # THEN it is a payment event of the PaymentIntent, at the event's time, in ISO units
    assert (event.kind, event.status) == ("payment", status)
    assert event.payment_key == f"stripe:{p.STRIPE_PI}"
    assert (event.amount, event.currency) == (2000, "USD")
    assert event.occurred_at == "2024-02-15T12:00:00.000Z"
    assert event.received_at == p.RECEIVED_AT and event.provider_event_type == event_type


def test_a_partial_capture_states_the_captured_amount() -> None:
    event = normalize("payment_intent.succeeded", p.payment_intent("succeeded", amount=2000, amount_received=1500))
    assert event.amount == 1500


def test_an_authorization_states_the_capturable_amount() -> None:
    intent = p.payment_intent("requires_capture", amount=2000, amount_capturable=2000, capture_method="manual")
    assert normalize("payment_intent.amount_capturable_updated", intent).amount == 2000


@pytest.mark.parametrize(("currency", "stripe_amount", "minor"), [
    ("jpy", 500, 500), ("kwd", 1230, 1230), ("isk", 10000, 100),
    ("isk", 10050, 101),  # a historical fraction of a krona (before 2023): rounded half up, not refused (B14)
])
def test_stripe_units_are_converted_to_iso_minor_units(currency: str, stripe_amount: int, minor: int) -> None:
    intent = p.payment_intent("succeeded", amount=stripe_amount, currency=currency)
    event = normalize("payment_intent.succeeded", intent)
    assert (event.amount, event.currency) == (minor, currency.upper())


def test_charge_refunded_with_the_refund_list_names_the_newest_refund_and_the_running_total() -> None:
    older = p.stripe_refund("re_old", 300, created=p.STRIPE_CREATED + 100)
    newer = p.stripe_refund("re_new", 500, created=p.STRIPE_CREATED + 200)
    event = normalize("charge.refunded", p.stripe_charge(800, refunds=[newer, older]))
    assert (event.kind, event.status) == ("refund", "refund_succeeded")
    assert event.payment_key == f"stripe:{p.STRIPE_PI}"
    assert (event.refund_id, event.refund_amount, event.refunded_total, event.amount) == ("re_new", 500, 800, 2000)


def test_charge_refunded_without_the_list_reports_the_running_total() -> None:
    # (API 2022-11-15 and later no longer embed charge.refunds)
    event = normalize("charge.refunded", p.stripe_charge(2000))
    assert event.refund_id is None and event.refunded_total == 2000


@pytest.mark.parametrize(
    ("event_type", "refund_status", "status"),
    [
        ("charge.refund.updated", "succeeded", "refund_succeeded"),
        ("charge.refund.updated", "failed", "refund_failed"),
        ("charge.refund.updated", "canceled", "refund_failed"),
        ("refund.created", "pending", "refund_pending"),
        ("refund.updated", "requires_action", "refund_pending"),
        ("refund.failed", "failed", "refund_failed"),
    ],
)
def test_refund_events(event_type: str, refund_status: str, status: str) -> None:
    event = normalize(event_type, p.stripe_refund(status=refund_status))
    assert (event.kind, event.status, event.refund_id, event.refund_amount) == (
        "refund", status, "re_3MtwBwLkdIwHu7ix0a8rGqIz", 500)
    assert event.payment_key == f"stripe:{p.STRIPE_PI}"


@pytest.mark.parametrize(
    ("event_type", "dispute_status", "status"),
    [
        ("charge.dispute.created", "needs_response", "dispute_open"),
        ("charge.dispute.created", "warning_needs_response", "dispute_open"),
        ("charge.dispute.updated", "under_review", "dispute_open"),
        ("charge.dispute.funds_withdrawn", "needs_response", "dispute_open"),
        ("charge.dispute.closed", "won", "dispute_won"),
        ("charge.dispute.closed", "warning_closed", "dispute_won"),
        ("charge.dispute.closed", "lost", "dispute_lost"),
        ("charge.dispute.funds_reinstated", "won", "dispute_won"),
    ],
)
def test_dispute_events(event_type: str, dispute_status: str, status: str) -> None:
    event = normalize(event_type, p.stripe_dispute(dispute_status))
    assert (event.kind, event.status, event.dispute_id) == ("dispute", status, "dp_1MtwBwLkdIwHu7ixOmZ7Ktxq")
    assert event.payment_key == f"stripe:{p.STRIPE_PI}"


def test_a_legacy_charge_without_a_payment_intent_is_keyed_by_the_charge() -> None:
    refund = p.stripe_refund()
    refund["payment_intent"] = None
    assert normalize("charge.refund.updated", refund).payment_key == f"stripe:{p.STRIPE_CHARGE}"


def test_an_expanded_payment_intent_is_read_by_its_id() -> None:
    dispute = p.stripe_dispute("needs_response")
    dispute["payment_intent"] = p.payment_intent("succeeded")
    assert normalize("charge.dispute.created", dispute).payment_key == f"stripe:{p.STRIPE_PI}"


@pytest.mark.parametrize("event_type", ["customer.created", "charge.updated", "charge.expired", "invoice.paid",
                                        "payment_intent.unknown_future_type"])
def test_events_outside_the_mapping_are_ignored(event_type: str) -> None:
    assert stripe.normalize(p.record("stripe", event_type, {"not": "even read"})) is None


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({**p.payment_intent("succeeded"), "amount": "20.00"}, "malformed amount in data.object.amount"),
        (p.payment_intent("succeeded", amount=-5), "out of range"),
        (p.payment_intent("succeeded", currency="xyz"), "unsupported currency"),
        ({**p.payment_intent("succeeded"), "object": "charge"}, "not a payment_intent"),
        ({**p.payment_intent("succeeded"), "id": None}, "id is missing"),
    ],
)
def test_malformed_payloads_are_processing_errors_with_safe_reasons(obj: dict, reason: str) -> None:
    with pytest.raises(ProcessingError) as raised:
        normalize("payment_intent.succeeded", obj)
    assert reason in raised.value.reason


def test_a_missing_event_time_is_a_processing_error() -> None:
    document = p.stripe_event("payment_intent.succeeded", p.payment_intent("succeeded"))
    del document["created"]
    with pytest.raises(ProcessingError, match="created"):
        stripe.normalize(p.record("stripe", "payment_intent.succeeded", document))
