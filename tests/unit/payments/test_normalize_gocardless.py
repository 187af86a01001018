"""GoCardless events (payments, refunds, mandates) in the payment vocabulary, with no amounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

gocardless = get_provider("gocardless")
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "gocardless" / "webhook_body.json"


def gc_event(resource_type: str, action: str, links: dict, created_at: str = "2024-02-15T12:00:00.000Z") -> dict:
    return {"id": "EV0123456789AB", "created_at": created_at, "resource_type": resource_type, "action": action,
            "links": links, "details": {"origin": "gocardless", "cause": f"{resource_type}_{action}",
                                        "description": "..."}, "metadata": {}}


def normalize(event: dict):
    event_type = f"{event['resource_type']}.{event['action']}"
    normalized = gocardless.normalize(p.record("gocardless", event_type, event, event_id=event["id"]))
    if normalized is not None:
        assert_valid(normalized.to_json())
    return normalized


@pytest.mark.parametrize(
    ("action", "kind", "status"),
    [("created", "payment", "pending"), ("customer_approval_granted", "payment", "pending"),
     ("submitted", "payment", "pending"), ("resubmission_requested", "payment", "pending"),
     ("confirmed", "payment", "succeeded"), ("paid_out", "payment", "succeeded"),
     ("failed", "payment", "failed"), ("customer_approval_denied", "payment", "failed"),
     ("late_failure_settled", "payment", "failed"), ("cancelled", "payment", "canceled"),
     ("charged_back", "dispute", "dispute_lost"), ("chargeback_settled", "dispute", "dispute_lost"),
     ("chargeback_cancelled", "dispute", "dispute_won")],
)
def test_payment_actions(action: str, kind: str, status: str) -> None:
    event = normalize(gc_event("payments", action, {"payment": "PM123"}))
    assert (event.kind, event.status, event.payment_key) == (kind, status, "gocardless:PM123")
    assert event.occurred_at == "2024-02-15T12:00:00.000Z"


def test_events_state_no_amount_because_gocardless_sends_none() -> None:
    event = normalize(gc_event("payments", "confirmed", {"payment": "PM123"}))
    assert (event.amount, event.currency, event.refund_amount, event.refunded_total) == (None, None, None, None)


@pytest.mark.parametrize(
    ("action", "status"),
    [("created", "refund_pending"), ("paid", "refund_succeeded"), ("refund_settled", "refund_succeeded"),
     ("failed", "refund_failed"), ("funds_returned", "refund_failed")],
)
def test_refund_actions_are_keyed_by_the_payment_when_linked_else_by_the_refund(action: str, status: str) -> None:
    linked = normalize(gc_event("refunds", action, {"refund": "RF1", "payment": "PM123"}))
    alone = normalize(gc_event("refunds", action, {"refund": "RF1"}))
    assert (linked.kind, linked.status, linked.payment_key) == ("refund", status, "gocardless:PM123")
    assert alone.payment_key == "gocardless:RF1"
    # Without an amount a PaymentEvent cannot name the refund: the refunded amount is untouched.
    assert linked.refund_id is None and linked.refund_amount is None


@pytest.mark.parametrize(
    ("action", "status"),
    [("created", "pending"), ("submitted", "pending"), ("customer_approval_granted", "pending"),
     ("resubmission_requested", "pending"), ("active", "authorized"), ("failed", "failed"),
     ("cancelled", "canceled"), ("expired", "canceled")],
)
def test_mandate_actions_follow_the_mandate(action: str, status: str) -> None:
    event = normalize(gc_event("mandates", action, {"mandate": "MD123"}))
    assert (event.kind, event.status, event.payment_key) == ("payment", status, "gocardless:MD123")


@pytest.mark.parametrize(
    ("resource_type", "action"),
    [("payouts", "paid"), ("subscriptions", "created"), ("mandates", "transferred"),
     ("payments", "surcharge_fee_debited")],
)
def test_other_events_are_outside_the_mapping(resource_type: str, action: str) -> None:
    assert normalize(gc_event(resource_type, action, {"payout": "PO1"})) is None


def test_the_sdks_published_events_normalize_or_are_ignored() -> None:
    subscription, mandate = json.loads(FIXTURE.read_bytes())["events"]
    assert normalize(subscription) is None
    event = normalize(mandate)
    assert (event.payment_key, event.status, event.occurred_at) == ("gocardless:MD000AMA19XGEC", "pending",
                                                                   "2018-07-05T09:13:56.893Z")


@pytest.mark.parametrize("links", [{}, {"refund": "RF1"}, {"payment": 12}])
def test_a_mapped_event_without_its_link_is_a_processing_error(links: dict) -> None:
    with pytest.raises(ProcessingError):
        normalize(gc_event("payments", "confirmed", links))


def test_a_mapped_event_without_a_time_is_a_processing_error() -> None:
    with pytest.raises(ProcessingError):
        normalize(gc_event("payments", "confirmed", {"payment": "PM1"}, created_at="yesterday"))
