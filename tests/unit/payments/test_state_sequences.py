"""Issue #13's state bugs, each as a sequence of real payload shapes through the real normalizers.

Every sequence is folded in every order it could be delivered in: each must end in the same
state, and that state must say the right status and amounts by kind (minor units).
"""

from __future__ import annotations

import itertools
from typing import Any

from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.state import PaymentState, fold
from chalicelib.providers import get_provider
from chalicelib.webhooks.record import WebhookRecord
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid


def _events(records: list[WebhookRecord]) -> list[PaymentEvent]:
    events = []
    for record in records:
        event = get_provider(record.provider).normalize(record)
        assert event is not None, record.event_type
        assert_valid(event.to_json())
        events.append(event)
    return events


def folded_in_every_order(records: list[WebhookRecord]) -> PaymentState:
    """The one state every delivery order gives (asserted), keyed to the first event's payment."""
    events = _events(records)
    key = events[0].payment_key
    events = [event.keyed_as(key) if event.payment_key != key else event for event in events]
    states = [fold(list(order)) for order in itertools.permutations(events)]
    first = states[0]
    for state in states[1:]:
        assert state.facts() == first.facts()
        assert (state.status, state.amounts) == (first.status, first.amounts)
    return first


def amounts(state: PaymentState) -> dict[str, int]:
    """The money by kind (the fees these synthetic payloads state are checked in test_ledger_details)."""
    document = state.amounts.to_json()
    return {kind: document[kind] for kind in ("authorized", "captured", "refunded", "disputed")}


# --- Stripe --------------------------------------------------------------------------------------

def stripe(event_type: str, obj: dict[str, Any], number: int, created: int = p.STRIPE_CREATED) -> WebhookRecord:
    return p.record("stripe", event_type, p.stripe_event(event_type, obj, created=created),
                    event_id=f"evt_{number}", webhook_id=f"wh_stripe{number:020d}")


def stripe_paid(number: int = 1) -> WebhookRecord:
    intent = p.payment_intent("succeeded", amount_received=2000, latest_charge=p.STRIPE_CHARGE)
    return stripe("payment_intent.succeeded", intent, number)


def test_b1_a_stripe_refund_that_fails_after_succeeding_is_not_refunded() -> None:
    refund = p.stripe_refund(amount=2000)
    failed = p.stripe_refund(amount=2000, status="failed")
    state = folded_in_every_order([
        stripe_paid(),
        # the charge's running total, which never goes down (API >= 2022-11-15: no refund list)
        stripe("charge.refunded", p.stripe_charge(amount_refunded=2000), 2, created=p.STRIPE_CREATED + 3600),
        stripe("refund.updated", refund, 3, created=p.STRIPE_CREATED + 3600),
        stripe("refund.failed", failed, 4, created=p.STRIPE_CREATED + 7200),
    ])
    assert state.status == "succeeded"
    assert amounts(state) == {"authorized": 2000, "captured": 2000, "refunded": 0, "disputed": 0}


def test_b1_with_the_refund_listed_on_the_charge_too() -> None:
    listed = p.stripe_charge(amount_refunded=500, refunds=[p.stripe_refund(amount=500)])
    state = folded_in_every_order([
        stripe_paid(),
        stripe("charge.refunded", listed, 2, created=p.STRIPE_CREATED + 3600),
        stripe("charge.refund.updated", p.stripe_refund(amount=500, status="failed"), 3,
               created=p.STRIPE_CREATED + 7200),
    ])
    assert (state.status, state.refunded_amount) == ("succeeded", 0)


def test_a_stripe_running_total_that_names_no_refund_still_counts() -> None:
    # (the case the running total is there for: nothing else said which refund it was)
    state = folded_in_every_order([
        stripe_paid(),
        stripe("charge.refunded", p.stripe_charge(amount_refunded=700), 2, created=p.STRIPE_CREATED + 3600),
    ])
    assert (state.status, state.refunded_amount) == ("partially_refunded", 700)


def test_b13_a_closed_stripe_inquiry_is_not_a_won_chargeback() -> None:
    state = folded_in_every_order([
        stripe_paid(),
        stripe("charge.dispute.created", p.stripe_dispute("warning_needs_response"), 2,
               created=p.STRIPE_CREATED + 86400),
        stripe("charge.dispute.closed", p.stripe_dispute("warning_closed"), 3, created=p.STRIPE_CREATED + 90000),
    ])
    assert state.status == "succeeded"
    assert amounts(state)["disputed"] == 0


def test_b13_an_open_inquiry_moves_no_money_but_a_chargeback_does() -> None:
    inquiry = folded_in_every_order([
        stripe_paid(),
        stripe("charge.dispute.created", p.stripe_dispute("warning_needs_response"), 2,
               created=p.STRIPE_CREATED + 86400),
    ])
    assert (inquiry.status, inquiry.disputed_amount) == ("succeeded", 0)
    lost = folded_in_every_order([
        stripe_paid(),
        stripe("charge.dispute.created", p.stripe_dispute("needs_response"), 2, created=p.STRIPE_CREATED + 86400),
        stripe("charge.dispute.closed", p.stripe_dispute("lost"), 3, created=p.STRIPE_CREATED + 90000),
    ])
    assert (lost.status, lost.disputed_amount) == ("dispute_lost", 2000)
    won = folded_in_every_order([
        stripe_paid(),
        stripe("charge.dispute.created", p.stripe_dispute("needs_response"), 2, created=p.STRIPE_CREATED + 86400),
        stripe("charge.dispute.closed", p.stripe_dispute("won"), 3, created=p.STRIPE_CREATED + 90000),
    ])
    assert (won.status, won.disputed_amount) == ("dispute_won", 0)  # the funds were reinstated


def test_stripe_context_livemode_and_account() -> None:
    document = p.stripe_event("payment_intent.succeeded", p.payment_intent("succeeded", amount_received=2000))
    document["account"] = "acct_1032D82eZvKYlo2C"
    state = folded_in_every_order([p.record("stripe", "payment_intent.succeeded", document)])
    assert (state.livemode, state.account) == (False, "acct_1032D82eZvKYlo2C")


# --- Adyen ---------------------------------------------------------------------------------------

def adyen(code: str, number: int, psp: str | None = None, value: int = 1000, at: str = "13:00:00",
          success: str = "true") -> WebhookRecord:
    modification = code != "AUTHORISATION"
    item = p.adyen_item(code, psp_reference=psp or p.ADYEN_PAYMENT, success=success, value=value,
                        original_reference=p.ADYEN_PAYMENT if modification else None,
                        event_date=f"2024-02-15T{at}+01:00")
    return p.adyen_record(item, webhook_id=f"wh_adyen{number:021d}")


def test_b3_an_adyen_capture_failed_undoes_its_capture() -> None:
    capture = "ZC4R4RBFJGXXGN82"
    failed = folded_in_every_order([
        adyen("AUTHORISATION", 1, value=1000),
        adyen("CAPTURE", 2, psp=capture, at="13:05:00"),
        adyen("CAPTURE_FAILED", 3, psp=capture, at="13:30:00"),
    ])
    assert failed.status == "authorized"
    assert amounts(failed) == {"authorized": 1000, "captured": 0, "refunded": 0, "disputed": 0}
    retried = folded_in_every_order([
        adyen("AUTHORISATION", 1, value=1000),
        adyen("CAPTURE", 2, psp=capture, at="13:05:00"),
        adyen("CAPTURE_FAILED", 3, psp=capture, at="13:30:00"),
        adyen("CAPTURE", 4, psp="ZC4R4RBFJGXXGN99", at="14:00:00"),
    ])
    assert (retried.status, retried.captured_amount) == ("succeeded", 1000)


def test_b7_two_captures_are_summed_and_a_refund_of_one_is_partial() -> None:
    records = [
        adyen("AUTHORISATION", 1, value=1999),
        adyen("CAPTURE", 2, psp="ZC4R4RBFJGXXGN01", value=1000, at="13:05:00"),
        adyen("CAPTURE", 3, psp="ZC4R4RBFJGXXGN02", value=999, at="13:06:00"),
    ]
    captured = folded_in_every_order(records)
    assert captured.status == "succeeded"
    assert amounts(captured) == {"authorized": 1999, "captured": 1999, "refunded": 0, "disputed": 0}
    refunded = folded_in_every_order([*records, adyen("REFUND", 4, psp="ZC4R4RBFJGXXGN03", value=999, at="15:00:00")])
    assert refunded.status == "partially_refunded"
    assert amounts(refunded) == {"authorized": 1999, "captured": 1999, "refunded": 999, "disputed": 0}


def test_an_adyen_chargeback_states_its_amount_and_the_account() -> None:
    state = folded_in_every_order([
        adyen("AUTHORISATION", 1, value=1000),
        adyen("CAPTURE", 2, psp="ZC4R4RBFJGXXGN01", value=1000, at="13:05:00"),
        adyen("CHARGEBACK", 3, psp="ZC4R4RBFJGXXGN07", value=400, at="18:00:00"),
    ])
    assert (state.status, state.disputed_amount, state.account) == ("dispute_lost", 400, "YOUR_MERCHANT_ACCOUNT")


# --- PayPal --------------------------------------------------------------------------------------

def paypal(event_type: str, resource_type: str, resource: dict[str, Any], number: int) -> WebhookRecord:
    document = p.paypal_event(event_type, resource_type, resource, event_id=f"WH-{number:04d}")
    return p.record("paypal", event_type, document, event_id=f"WH-{number:04d}",
                    webhook_id=f"wh_paypal{number:020d}")


def test_b5_voiding_the_remainder_after_a_partial_capture_stays_succeeded() -> None:
    authorization = p.paypal_authorization("CREATED", value="10.00")
    partial = p.paypal_capture("COMPLETED", value="6.00", authorization_id=p.PAYPAL_AUTHORIZATION)
    partial["final_capture"] = False
    voided = p.paypal_authorization("VOIDED", value="10.00")
    voided["update_time"] = "2024-02-15T13:00:00Z"
    state = folded_in_every_order([
        paypal("PAYMENT.AUTHORIZATION.CREATED", "authorization", authorization, 1),
        paypal("PAYMENT.CAPTURE.COMPLETED", "capture", partial, 2),
        paypal("PAYMENT.AUTHORIZATION.VOIDED", "authorization", voided, 3),
    ])
    assert state.status == "succeeded"
    assert amounts(state) == {"authorized": 1000, "captured": 600, "refunded": 0, "disputed": 0}


def test_b5_a_void_without_any_capture_still_cancels() -> None:
    voided = p.paypal_authorization("VOIDED")
    voided["update_time"] = "2024-02-15T13:00:00Z"
    state = folded_in_every_order([
        paypal("PAYMENT.AUTHORIZATION.CREATED", "authorization", p.paypal_authorization("CREATED"), 1),
        paypal("PAYMENT.AUTHORIZATION.VOIDED", "authorization", voided, 2),
    ])
    assert (state.status, state.captured_amount) == ("canceled", 0)


def test_b10_a_paypal_reversal_after_a_lost_dispute_is_counted_once() -> None:
    reversal = p.paypal_refund(value="10.00", total="10.00", refund_id="8XJ85720LA6012435")
    reversal["update_time"] = reversal["create_time"] = "2024-02-25T10:00:00Z"
    state = folded_in_every_order([
        paypal("PAYMENT.CAPTURE.COMPLETED", "capture", p.paypal_capture("COMPLETED"), 1),
        paypal("CUSTOMER.DISPUTE.CREATED", "dispute", p.paypal_dispute("OPEN"), 2),
        paypal("CUSTOMER.DISPUTE.RESOLVED", "dispute", {
            **p.paypal_dispute("RESOLVED", outcome="RESOLVED_BUYER_FAVOUR"),
            "update_time": "2024-02-24T09:00:00.000Z",
        }, 3),
        paypal("PAYMENT.CAPTURE.REVERSED", "refund", reversal, 4),
    ])
    assert state.status == "dispute_lost"
    assert amounts(state) == {"authorized": 1000, "captured": 1000, "refunded": 0, "disputed": 1000}


def test_b10_a_reversal_alone_is_money_taken_back_not_a_refund() -> None:
    reversal = p.paypal_refund(value="10.00", total="10.00", refund_id="8XJ85720LA6012435")
    state = folded_in_every_order([
        paypal("PAYMENT.CAPTURE.COMPLETED", "capture", p.paypal_capture("COMPLETED"), 1),
        paypal("PAYMENT.CAPTURE.REVERSED", "refund", reversal, 2),
    ])
    assert (state.refunded_amount, state.disputed_amount) == (0, 1000)
