"""Fees, net, settlement, merchant references and reasons from each provider's real payload shapes
(issue #13). The payloads are the corpus's (tests/fixtures/providers/, each with its origin); a
test that needs a variant changes one documented field of a real payload and says which."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.record import PaymentRecord
from chalicelib.payments.state import fold
from chalicelib.providers import get_provider
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from tests.unit.payments import payloads as p

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "providers"


def corpus(name: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return entry


def normalize(entry: dict[str, Any], payload: dict[str, Any] | None = None, number: int = 1,
              event_type: str | None = None) -> PaymentEvent:
    record = WebhookRecord(
        webhook_id=f"wh_details{number:018d}", source=entry["provider"], provider=entry["provider"],
        event_id=f"evt_{number}", event_type=event_type or entry["eventType"],
        payload=json.dumps(payload if payload is not None else entry["payload"]),
        received_at="2024-02-15T12:00:05.000Z", status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    event = get_provider(entry["provider"]).normalize(record)
    assert event is not None
    return event


# --- PayPal --------------------------------------------------------------------------------------

PAYPAL_CAPTURE = "paypal/rootprojects-readme-capture-completed-with-breakdown.json"
PAYPAL_REFUND = "paypal/docs-sample-capture-refunded-with-breakdown.json"


def test_paypal_capture_fee_and_net_come_from_its_seller_receivable_breakdown() -> None:
    event = normalize(corpus(PAYPAL_CAPTURE))
    assert (event.fee, event.net, event.fee_currency) == (84, 916, "USD")
    assert event.settlement_currency is None  # received in the transaction's currency
    assert dict(event.references) == {"customId": "{my-local-db-purchase-id}"}


def test_paypal_capture_received_in_another_currency_states_the_settlement_and_rate() -> None:
    entry = corpus(PAYPAL_CAPTURE)
    payload = copy.deepcopy(entry["payload"])
    # PayPal's documented fields when the seller holds another currency (Payments v2 Capture)
    payload["resource"]["seller_receivable_breakdown"].update({
        "receivable_amount": {"currency_code": "EUR", "value": "8.21"},
        "exchange_rate": {"source_currency": "USD", "target_currency": "EUR", "value": "0.896"},
    })
    event = normalize(entry, payload)
    assert (event.fee, event.net, event.fee_currency) == (84, 916, "USD")
    assert (event.settlement_amount, event.settlement_currency, event.exchange_rate) == (821, "EUR", "0.896")


def test_paypal_refund_gives_back_the_fee_its_seller_payable_breakdown_states() -> None:
    event = normalize(corpus(PAYPAL_REFUND))
    assert (event.fee, event.net, event.fee_currency) == (2, 97, "USD")


def test_paypal_pending_capture_says_why_and_an_unreadable_breakdown_leaves_the_fee_absent() -> None:
    entry = corpus(PAYPAL_CAPTURE)
    payload = copy.deepcopy(entry["payload"])
    payload["resource"].update(status="PENDING", status_details={"reason": "PENDING_REVIEW"})
    pending = normalize(entry, payload, event_type="PAYMENT.CAPTURE.PENDING")
    assert (pending.status, pending.reason, pending.fee) == ("pending", "PENDING_REVIEW", None)
    payload = copy.deepcopy(entry["payload"])
    payload["resource"]["seller_receivable_breakdown"]["paypal_fee"] = {"value": "0.84"}  # no currency
    broken = normalize(entry, payload)
    assert (broken.status, broken.amount, broken.fee, broken.fee_currency) == ("succeeded", 1000, None, None)


def test_paypal_sale_transaction_fee_is_its_fee() -> None:
    event = normalize(corpus("paypal/node-sdk-webhook-payload-verify-sale-completed.json"))
    assert (event.fee, event.net, event.fee_currency) == (47, None, "USD")


def test_a_paypal_record_sums_the_capture_fee_and_the_fee_its_refund_gave_back() -> None:
    capture = normalize(corpus(PAYPAL_CAPTURE), number=1)
    refund_entry = corpus(PAYPAL_REFUND)
    payload = copy.deepcopy(refund_entry["payload"])
    # the same refund of *this* capture: its up link names the capture, as PayPal's does
    payload["resource"]["links"][1]["href"] = "https://api.paypal.com/v2/payments/captures/5VK462069F664902F"
    refund = normalize(refund_entry, payload, number=2)
    record = PaymentRecord.new("paypal:4K5112848U951142F", "paypal")
    for event in (capture, refund.keyed_as("paypal:4K5112848U951142F")):
        applied = record.apply(event, "2024-02-15T13:00:00.000Z")
        assert applied is not None
        record = applied
    amounts = record.state.amounts
    # PayPal's total_refunded_amount (1.98) says an earlier refund it does not name: it counts;
    # its fee, not stated, does not
    assert (amounts.captured, amounts.refunded, amounts.fee, amounts.net) == (1000, 198, 84 - 2, 916 - 97)


# --- Stripe --------------------------------------------------------------------------------------

STRIPE_EXPANDED = "stripe/dj-stripe-payment-intent-pi-fakefakefakefakefake0001-with-balance-transaction-as-payment-intent-succeeded.json"  # noqa: E501


def test_stripe_fee_comes_only_from_an_expanded_balance_transaction() -> None:
    event = normalize(corpus(STRIPE_EXPANDED))
    assert (event.capture_id, event.fee, event.net, event.fee_currency) == ("ch_fakefakefakefakefake0001", 88, 1912,
                                                                            "USD")
    plain = normalize(corpus(STRIPE_EXPANDED.replace("-with-balance-transaction", "")))
    assert (plain.fee, plain.net, plain.fee_currency) == (None, None, None)  # an id only: never estimated


def test_stripe_balance_transaction_in_another_currency_is_the_settlement() -> None:
    entry = corpus(STRIPE_EXPANDED)
    payload = copy.deepcopy(entry["payload"])
    # a USD charge settled in EUR: Stripe's balance transaction is then in EUR with its rate
    payload["data"]["object"]["latest_charge"]["balance_transaction"].update(
        amount=1790, fee=79, net=1711, currency="eur", exchange_rate=0.895)
    event = normalize(entry, payload)
    assert (event.fee, event.net, event.fee_currency) == (79, 1711, "EUR")
    assert (event.settlement_amount, event.settlement_currency, event.exchange_rate) == (1790, "EUR", "0.895")


def test_stripe_reasons_of_a_failed_intent_a_refund_and_a_dispute() -> None:
    failed = corpus("stripe/openapi-fixtures3-payment-intent-as-payment-intent-payment-failed.json")
    payload = copy.deepcopy(failed["payload"])
    payload["data"]["object"]["last_payment_error"] = {  # Stripe's card error shape
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds."}
    payload["data"]["object"]["metadata"] = {"order_id": "6735", "note": "not an order key"}
    event = normalize(failed, payload)
    assert event.reason == "insufficient_funds: Your card has insufficient funds."
    assert dict(event.references) == {"metadata.order_id": "6735"}
    assert normalize(failed).reason is None  # an error without code or message says nothing

    refund = corpus("stripe/openapi-fixtures3-refund-as-refund-created.json")
    payload = copy.deepcopy(refund["payload"])
    payload["data"]["object"].update(status="failed", failure_reason="expired_or_canceled_card",
                                     reason="requested_by_customer")
    assert normalize(refund, payload, event_type="refund.failed").reason == "expired_or_canceled_card"
    payload["data"]["object"]["status"] = "succeeded"
    assert normalize(refund, payload, event_type="refund.updated").reason == "requested_by_customer"

    dispute = normalize(corpus("stripe/openapi-fixtures3-dispute-as-charge-dispute-created.json"))
    assert dispute.reason == "general"


# --- Adyen ---------------------------------------------------------------------------------------

def test_adyen_merchant_reference_and_reasons_only_where_they_are_reasons() -> None:
    authorised = normalize(corpus("adyen/java-authorisation-true-0.json"))
    assert dict(authorised.references) == {"merchantReference": "8313842560770001"}
    # its reason is "1234:7777:12/2012": the auth code, the card's last digits and its expiry
    assert authorised.reason is None
    assert normalize(corpus("adyen/java-refund-false-0.json")).reason == "Insufficient balance on payment"
    assert normalize(corpus("adyen/openapi-second-chargeback-0.json")).reason == "502:Cardmember Dispute"
    capture = normalize(corpus("adyen/java-capture-true-0.json"))
    assert (capture.fee, capture.fee_currency) == (None, None)  # Adyen's notifications carry no fees


# --- Square --------------------------------------------------------------------------------------

def test_square_payment_fees_are_summed_and_the_seller_is_the_account() -> None:
    entry = corpus("square/openapi-paymentupdatedevent.json")
    payload = copy.deepcopy(entry["payload"])
    # Square's Payment.processing_fee: one entry per fee applied (an initial one and an adjustment)
    payload["data"]["object"]["payment"]["processing_fee"] = [
        {"amount_money": {"amount": 59, "currency": "USD"}, "effective_at": "2020-11-22T23:13:02.000Z",
         "type": "INITIAL"},
        {"amount_money": {"amount": 3, "currency": "USD"}, "effective_at": "2020-11-23T01:00:00.000Z",
         "type": "ADJUSTMENT"},
    ]
    event = normalize(entry, payload)
    assert (event.fee, event.fee_currency) == (62, "USD")
    assert event.net == (event.amount or 0) - 62
    assert event.account == payload["merchant_id"]
    assert dict(event.references) == {"locationId": "S8GWD5R9QB376", "orderId": "03O3USaPaAaFnI6kkwB1JxGgBsUZY"}
    assert normalize(entry).fee is None  # no processing_fee yet: absent


def test_square_refund_fee_given_back_and_its_reason() -> None:
    event = normalize(corpus("square/openapi-refundupdatedevent.json"))
    assert (event.fee, event.net, event.fee_currency, event.account) == (59, 941, "USD", "6SSW7HV8K2ST5")
    document = p.square_event("refund.updated", "refund", p.SQUARE_PAYMENT + "_r1", p.square_refund("COMPLETED"))
    refund = normalize({"provider": "square", "eventType": "refund.updated", "payload": document})
    assert refund.reason == "Returned item"


# --- GoCardless and Razorpay ---------------------------------------------------------------------

def test_gocardless_mandate_reference_and_a_failure_cause() -> None:
    mandate = normalize(corpus("gocardless/sdk-webhook-body-1-mandates-created.json"))
    assert dict(mandate.references) == {"mandate": "MD000AMA19XGEC"}
    assert mandate.reason is None  # a routine cause says nothing
    entry = corpus("gocardless/sdk-webhook-body-1-mandates-created.json")
    payload = copy.deepcopy(entry["payload"])
    # GoCardless's documented payments.failed event
    payload.update(resource_type="payments", action="failed", links={"payment": "PM123", "mandate": "MD000AMA19XGEC"},
                   details={"origin": "bank", "cause": "insufficient_funds", "scheme": "bacs", "reason_code": "ARUDD-0",
                            "description": "The customer's account had insufficient funds to make this payment."})
    failed = normalize(entry, payload, event_type="payments.failed")
    assert failed.reason == ("insufficient_funds (ARUDD-0): The customer's account had insufficient funds to make "
                             "this payment.")


def test_razorpay_fee_order_notes_and_error() -> None:
    entry = corpus("razorpay/sdk-fake-payment-authorized.json")
    event = normalize(entry)
    assert (event.fee, event.net, event.fee_currency) == (23000, 977000, "INR")
    assert dict(event.references) == {"notes.merchant_order_id": "random order id", "orderId": "order_100000000order"}
    payload = copy.deepcopy(entry["payload"])
    payload["payload"]["payment"]["entity"].update(
        status="failed", fee=None, error_code="BAD_REQUEST_ERROR",
        error_description="Payment failed due to incorrect card details", error_reason="incorrect_card_details")
    failed = normalize(entry, payload, event_type="payment.failed")
    assert failed.reason == "BAD_REQUEST_ERROR: Payment failed due to incorrect card details"
    assert failed.fee is None


# --- order-proof on real shapes ------------------------------------------------------------------

def _square(event_type: str, kind: str, obj: dict[str, Any], number: int) -> PaymentEvent:
    document = p.square_event(event_type, kind, obj["id"], obj)
    return normalize({"provider": "square", "eventType": event_type, "payload": document}, number=number)


def test_square_fees_fold_to_the_latest_statement_in_every_order() -> None:
    first = p.square_payment("COMPLETED", amount=1000, updated_at="2024-02-15T12:00:00.186Z")
    first["processing_fee"] = [{"amount_money": {"amount": 59, "currency": "USD"},
                                "effective_at": "2024-02-15T12:00:00.000Z", "type": "INITIAL"}]
    later = copy.deepcopy(first)  # Square's later payment.updated lists every fee applied so far
    later["updated_at"] = "2024-02-15T12:30:00.000Z"
    later["processing_fee"].append({"amount_money": {"amount": 3, "currency": "USD"},
                                    "effective_at": "2024-02-15T12:30:00.000Z", "type": "ADJUSTMENT"})
    refund = p.square_refund("COMPLETED", amount=500)  # its processing_fee gives back 2
    failed = p.square_refund("REJECTED", amount=200, refund_id=f"{p.SQUARE_PAYMENT}_r2")
    failed["processing_fee"] = [{"amount_money": {"amount": -1, "currency": "USD"},
                                 "effective_at": "2024-02-15T13:00:00.000Z", "type": "INITIAL"}]
    failed["reason"] = "Card declined the refund"
    events = [
        _square("payment.updated", "payment", first, 1),
        _square("payment.updated", "payment", later, 2),
        _square("refund.updated", "refund", refund, 3),
        _square("refund.updated", "refund", failed, 4),
    ]
    states = [fold(list(order)) for order in itertools.permutations(events)]
    for state in states:
        assert state.facts() == states[0].facts()
        amounts = state.amounts
        # 59 + 3 charged, 2 given back by the refund that succeeded; the rejected one gives nothing back
        assert (amounts.captured, amounts.refunded, amounts.fee, amounts.net) == (1000, 500, 60, (1000 - 62) - 498)
        assert state.account == "6SSW7HV8K2ST5"
        assert state.last_reason is not None and state.last_reason.reason == "Card declined the refund"
        # the refund's order is its own (the return's): named apart from the payment's
        assert dict(state.references) == {"locationId": "S8GWD5R9QB376", "orderId": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
                                          "refundOrderId": "9tBoLzQtuXNmUEWuDfUvaoWBGoYZY"}
