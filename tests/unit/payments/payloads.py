"""Realistic provider payloads, in each provider's documented webhook shape, and stored records.

Shapes follow the providers' published examples: Stripe's API reference (event, PaymentIntent,
Charge, Refund and Dispute objects, API version 2024-06-20), Square's Webhooks reference
(payment.*, refund.*, dispute.*), PayPal's webhook event samples (Payments v2 capture,
authorization and refund resources, Customer Disputes v1), Adyen's standard webhook
``NotificationRequestItem`` and dispute webhooks, and the Standard Webhooks envelope.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus

RECEIVED_AT = "2024-02-15T12:00:05.000Z"


def record(provider: str, event_type: str, document: dict[str, Any], event_id: str = "evt_1",
           webhook_id: str = "wh_test0000000000000000000001", source: str | None = None) -> WebhookRecord:
    """A stored webhook record, as the receiver wrote it."""
    return WebhookRecord(
        webhook_id=webhook_id, source=source or provider, provider=provider, event_id=event_id,
        event_type=event_type, payload=json.dumps(document), received_at=RECEIVED_AT,
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )


# --- Stripe ----------------------------------------------------------------------------------

STRIPE_PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
STRIPE_CHARGE = "ch_3MtwBwLkdIwHu7ix28a3tqPa"
STRIPE_CREATED = 1707998400  # 2024-02-15T12:00:00Z


def stripe_event(event_type: str, obj: dict[str, Any], created: int = STRIPE_CREATED,
                 previous: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "evt_3MtwBwLkdIwHu7ix0cT6xGQr",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_8nd2QpVZq0bhmV", "idempotency_key": "8a1d7f64-6c3a-4c2e-9a1b-2d5f0e3c4b7a"},
        "type": event_type,
    }
    if previous is not None:
        event["data"]["previous_attributes"] = previous
    return event


def payment_intent(status: str, amount: int = 2000, currency: str = "usd", **changes: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "id": STRIPE_PI,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{STRIPE_PI}_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "confirmation_method": "automatic",
        "created": STRIPE_CREATED - 60,
        "currency": currency,
        "customer": None,
        "description": None,
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
    intent.update(changes)
    return intent


def stripe_refund(refund_id: str = "re_3MtwBwLkdIwHu7ix0a8rGqIz", amount: int = 500, status: str = "succeeded",
                  currency: str = "usd", created: int = STRIPE_CREATED + 3600) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": "txn_3MtwBwLkdIwHu7ix0ELG5Ia9",
        "charge": STRIPE_CHARGE,
        "created": created,
        "currency": currency,
        "destination_details": {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                                         "type": "refund"}, "type": "card"},
        "metadata": {},
        "payment_intent": STRIPE_PI,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def stripe_charge(amount_refunded: int, refunds: list[dict[str, Any]] | None = None, amount: int = 2000,
                  currency: str = "usd") -> dict[str, Any]:
    charge: dict[str, Any] = {
        "id": STRIPE_CHARGE,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "balance_transaction": "txn_3MtwBwLkdIwHu7ix0ELG5Ia8",
        "billing_details": {"address": {"city": None, "country": None, "line1": None, "line2": None,
                                        "postal_code": None, "state": None},
                            "email": None, "name": None, "phone": None},
        "captured": True,
        "created": STRIPE_CREATED - 30,
        "currency": currency,
        "customer": None,
        "disputed": False,
        "livemode": False,
        "metadata": {},
        "outcome": {"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                    "seller_message": "Payment complete.", "type": "authorized"},
        "paid": True,
        "payment_intent": STRIPE_PI,
        "payment_method": "pm_1MtwBwLkdIwHu7ixXyNp2hUz",
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }
    if refunds is not None:  # API versions before 2022-11-15 embed the list
        charge["refunds"] = {"object": "list", "data": refunds, "has_more": False, "total_count": len(refunds),
                             "url": f"/v1/charges/{STRIPE_CHARGE}/refunds"}
    return charge


def stripe_dispute(status: str, dispute_id: str = "dp_1MtwBwLkdIwHu7ixOmZ7Ktxq") -> dict[str, Any]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": 2000,
        "balance_transactions": [],
        "charge": STRIPE_CHARGE,
        "created": STRIPE_CREATED + 86400,
        "currency": "usd",
        "evidence": {"customer_name": None, "product_description": None, "uncategorized_text": None},
        "evidence_details": {"due_by": STRIPE_CREATED + 10 * 86400, "has_evidence": False, "past_due": False,
                             "submission_count": 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": STRIPE_PI,
        "reason": "fraudulent",
        "status": status,
    }


# --- Square ----------------------------------------------------------------------------------

SQUARE_PAYMENT = "KkAkhdMsgzn59SM8A89WgKwekxLZY"


def square_event(event_type: str, object_type: str, object_id: str, obj: dict[str, Any],
                 created_at: str = "2024-02-15T12:00:00.198Z") -> dict[str, Any]:
    return {
        "merchant_id": "6SSW7HV8K2ST5",
        "type": event_type,
        "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
        "created_at": created_at,
        "data": {"type": object_type, "id": object_id, "object": {object_type: obj}},
    }


def square_payment(status: str, amount: int = 1000, tip: int = 0, currency: str = "USD",
                   updated_at: str = "2024-02-15T12:00:00.186Z", refunded: int | None = None) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "amount_money": {"amount": amount, "currency": currency},
        "approved_money": {"amount": amount + tip, "currency": currency},
        "card_details": {
            "avs_status": "AVS_ACCEPTED",
            "card": {"bin": "411111", "card_brand": "VISA", "card_type": "DEBIT", "exp_month": 11, "exp_year": 2026,
                     "fingerprint": "sq-1-Hxim77tbdcbGejOejnoAklBVJed2YFLTmirfl8Q5XZzObTc8qY_U8RkwzoNL8dCEcQ",
                     "last_4": "1111", "prepaid_type": "NOT_PREPAID"},
            "card_payment_timeline": {"authorized_at": "2024-02-15T12:00:00.086Z"},
            "cvv_status": "CVV_ACCEPTED",
            "entry_method": "KEYED",
            "statement_description": "SQ *DEFAULT TEST ACCOUNT",
            "status": "CAPTURED" if status == "COMPLETED" else "AUTHORIZED",
        },
        "created_at": "2024-02-15T12:00:00.086Z",
        "id": SQUARE_PAYMENT,
        "location_id": "S8GWD5R9QB376",
        "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
        "receipt_number": "KkAk",
        "receipt_url": f"https://squareupsandbox.com/receipt/preview/{SQUARE_PAYMENT}",
        "risk_evaluation": {"created_at": "2024-02-15T12:00:00.086Z", "risk_level": "NORMAL"},
        "source_type": "CARD",
        "status": status,
        "total_money": {"amount": amount + tip, "currency": currency},
        "updated_at": updated_at,
        "version": 4,
        "version_token": "TPtNEOBOa6Qq6E3C3IjckSVOM6b3hMbfhjvTxHBQUsB6o",
    }
    if tip:
        payment["tip_money"] = {"amount": tip, "currency": currency}
    if refunded is not None:
        payment["refunded_money"] = {"amount": refunded, "currency": currency}
        payment["refund_ids"] = [f"{SQUARE_PAYMENT}_refund"]
    return payment


def square_refund(status: str, amount: int = 500, refund_id: str = f"{SQUARE_PAYMENT}_r1",
                  updated_at: str = "2024-02-15T13:00:00.412Z") -> dict[str, Any]:
    return {
        "amount_money": {"amount": amount, "currency": "USD"},
        "created_at": "2024-02-15T13:00:00.123Z",
        "id": refund_id,
        "location_id": "S8GWD5R9QB376",
        "order_id": "9tBoLzQtuXNmUEWuDfUvaoWBGoYZY",
        "payment_id": SQUARE_PAYMENT,
        "processing_fee": [{"amount_money": {"amount": -2, "currency": "USD"},
                            "effective_at": "2024-02-15T12:00:00.000Z", "type": "INITIAL"}],
        "reason": "Returned item",
        "status": status,
        "updated_at": updated_at,
        "version": 9,
    }


def square_dispute(state: str, updated_at: str = "2024-02-20T09:00:00.000Z") -> dict[str, Any]:
    return {
        "amount_money": {"amount": 1000, "currency": "USD"},
        "brand_dispute_id": "100000282394",
        "card_brand": "VISA",
        "created_at": "2024-02-20T08:00:00.000Z",
        "dispute_id": "8JBz9uH1mJTd4lWRyaHmHC",
        "disputed_payment": {"payment_id": SQUARE_PAYMENT},
        "due_at": "2024-03-05T00:00:00.000Z",
        "id": "8JBz9uH1mJTd4lWRyaHmHC",
        "location_id": "S8GWD5R9QB376",
        "reason": "AMOUNT_DIFFERS",
        "reported_at": "2024-02-20T00:00:00.000Z",
        "state": state,
        "updated_at": updated_at,
        "version": 1,
    }


# --- PayPal ----------------------------------------------------------------------------------

PAYPAL_ORDER = "5O190127TN364715T"
PAYPAL_CAPTURE = "3C679366HH908993F"
PAYPAL_AUTHORIZATION = "0VF52814937998046"
PAYPAL_API = "https://api.paypal.com"


def paypal_event(event_type: str, resource_type: str, resource: dict[str, Any],
                 create_time: str = "2024-02-15T12:00:07.940Z",
                 event_id: str = "WH-58D329510W468432D-8HN650336L201105X",
                 resource_version: str = "2.0") -> dict[str, Any]:
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": create_time,
        "resource_type": resource_type,
        "resource_version": resource_version,
        "event_type": event_type,
        "summary": "Payment completed for $ 10.0 USD",
        "resource": resource,
        "links": [
            {"href": f"{PAYPAL_API}/v1/notifications/webhooks-events/{event_id}", "rel": "self", "method": "GET"},
            {"href": f"{PAYPAL_API}/v1/notifications/webhooks-events/{event_id}/resend", "rel": "resend",
             "method": "POST"},
        ],
    }


def _net_of(value: str, fee: str) -> str:
    try:
        return f"{Decimal(value) - Decimal(fee):.2f}"
    except InvalidOperation:
        return "9.36"


def paypal_capture(status: str, value: str = "10.00", currency: str = "USD", order_id: str | None = PAYPAL_ORDER,
                   authorization_id: str | None = None, update_time: str = "2024-02-15T12:00:02Z") -> dict[str, Any]:
    capture: dict[str, Any] = {
        "id": PAYPAL_CAPTURE,
        "amount": {"currency_code": currency, "value": value},
        "final_capture": True,
        "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED",
                                                                         "UNAUTHORIZED_TRANSACTION"]},
        "seller_receivable_breakdown": {
            "gross_amount": {"currency_code": currency, "value": value},
            "paypal_fee": {"currency_code": currency, "value": "0.64"},
            # net = gross - fee (a breakdown that does not add up is not PayPal's); a malformed value
            # under test keeps the 10.00 capture's net
            "net_amount": {"currency_code": currency, "value": _net_of(value, "0.64")},
        },
        "status": status,
        "create_time": "2024-02-15T12:00:02Z",
        "update_time": update_time,
        "links": [
            {"href": f"{PAYPAL_API}/v2/payments/captures/{PAYPAL_CAPTURE}", "rel": "self", "method": "GET"},
            {"href": f"{PAYPAL_API}/v2/payments/captures/{PAYPAL_CAPTURE}/refund", "rel": "refund", "method": "POST"},
        ],
    }
    related: dict[str, str] = {}
    if order_id:
        related["order_id"] = order_id
        capture["links"].append({"href": f"{PAYPAL_API}/v2/checkout/orders/{order_id}", "rel": "up", "method": "GET"})
    if authorization_id:
        related["authorization_id"] = authorization_id
    if related:
        capture["supplementary_data"] = {"related_ids": related}
    return capture


def paypal_authorization(status: str, value: str = "10.00", currency: str = "USD") -> dict[str, Any]:
    path = f"{PAYPAL_API}/v2/payments/authorizations/{PAYPAL_AUTHORIZATION}"
    return {
        "id": PAYPAL_AUTHORIZATION,
        "amount": {"currency_code": currency, "value": value},
        "expiration_time": "2024-03-15T12:00:00Z",
        "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED",
                                                                         "UNAUTHORIZED_TRANSACTION"]},
        "status": status,
        "supplementary_data": {"related_ids": {"order_id": PAYPAL_ORDER}},
        "create_time": "2024-02-15T12:00:00Z",
        "update_time": "2024-02-15T12:00:01Z",
        "links": [
            {"href": path, "rel": "self", "method": "GET"},
            {"href": f"{path}/capture", "rel": "capture", "method": "POST"},
            {"href": f"{path}/void", "rel": "void", "method": "POST"},
            {"href": f"{PAYPAL_API}/v2/checkout/orders/{PAYPAL_ORDER}", "rel": "up", "method": "GET"},
        ],
    }


def paypal_refund(value: str = "4.00", total: str = "4.00", status: str = "COMPLETED",
                  refund_id: str = "1JU08902781691411", currency: str = "USD") -> dict[str, Any]:
    return {
        "id": refund_id,
        "amount": {"currency_code": currency, "value": value},
        "note_to_payer": "Defective product",
        "seller_payable_breakdown": {
            "gross_amount": {"currency_code": currency, "value": value},
            "paypal_fee": {"currency_code": currency, "value": "0.00"},
            "net_amount": {"currency_code": currency, "value": value},
            "total_refunded_amount": {"currency_code": currency, "value": total},
        },
        "status": status,
        "create_time": "2024-02-16T09:00:00Z",
        "update_time": "2024-02-16T09:00:00Z",
        "links": [
            {"href": f"{PAYPAL_API}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
            {"href": f"{PAYPAL_API}/v2/payments/captures/{PAYPAL_CAPTURE}", "rel": "up", "method": "GET"},
        ],
    }


def paypal_dispute(status: str, outcome: str | None = None) -> dict[str, Any]:
    dispute: dict[str, Any] = {
        "dispute_id": "PP-D-27803",
        "create_time": "2024-02-20T08:00:00.000Z",
        "update_time": "2024-02-20T09:00:00.000Z",
        "disputed_transactions": [{
            "seller_transaction_id": PAYPAL_CAPTURE,
            "create_time": "2024-02-15T12:00:02.000Z",
            "transaction_status": "COMPLETED",
            "gross_amount": {"currency_code": "USD", "value": "10.00"},
            "buyer": {"name": "John Doe"},
            "seller": {"merchant_id": "C8NHK6E2MFMQ4", "name": "Test Store"},
        }],
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": status,
        "dispute_amount": {"currency_code": "USD", "value": "10.00"},
        "dispute_life_cycle_stage": "INQUIRY",
        "dispute_channel": "INTERNAL",
        "links": [{"href": f"{PAYPAL_API}/v1/customer/disputes/PP-D-27803", "rel": "self", "method": "GET"}],
    }
    if outcome is not None:
        dispute["dispute_outcome"] = {"outcome_code": outcome,
                                      "amount_refunded": {"currency_code": "USD", "value": "10.00"}}
    return dispute


# --- Adyen -----------------------------------------------------------------------------------

ADYEN_PAYMENT = "QFQTPCQ8HXSKGK82"


def adyen_item(event_code: str, psp_reference: str = ADYEN_PAYMENT, success: str = "true",
               original_reference: str | None = None, value: int = 1000, currency: str = "EUR",
               event_date: str = "2024-02-15T13:00:00+01:00") -> dict[str, Any]:
    item: dict[str, Any] = {
        "additionalData": {"authCode": "058705", "cardSummary": "1111", "expiryDate": "03/2030",
                           "hmacSignature": "b0ea55c2fe60d4d1d605e9c385e0e7f7e3a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"},
        "amount": {"currency": currency, "value": value},
        "eventCode": event_code,
        "eventDate": event_date,
        "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT",
        "merchantReference": "YOUR_REFERENCE",
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": psp_reference,
        "reason": "058705:1111:03/2030",
        "success": success,
    }
    if original_reference is not None:
        item["originalReference"] = original_reference
    return {"NotificationRequestItem": item}


def adyen_record(item: dict[str, Any], webhook_id: str = "wh_test0000000000000000000001") -> WebhookRecord:
    fields = item["NotificationRequestItem"]
    key = ":".join(str(fields.get(name) or "")
                   for name in ("pspReference", "eventCode", "success", "originalReference"))
    return record("adyen", fields["eventCode"], item, event_id=key, webhook_id=webhook_id)


# --- Standard Webhooks ------------------------------------------------------------------------


def standard_event(
    event_type: str, data: dict[str, Any], timestamp: str | None = "2024-02-15T12:00:00Z"
) -> dict[str, Any]:
    document: dict[str, Any] = {"type": event_type, "data": copy.deepcopy(data)}
    if timestamp is not None:
        document["timestamp"] = timestamp
    return document
