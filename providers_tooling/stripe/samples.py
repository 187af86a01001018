"""Stripe samples: events wrap a snapshot of the object in ``data.object`` (API version 2024-06-20).

Charge, refund and dispute objects carry ``payment_intent`` (and ``charge``): normalization
attaches them to the PaymentIntent.
"""

from __future__ import annotations

import string
import uuid
from typing import Any

from providers_tooling.samples import (
    ALNUM,
    UPPER_ALNUM,
    Context,
    Document,
    Sample,
    random_id,
)

STRIPE_API_VERSION = "2024-06-20"


def new_payment_id() -> str:
    return "pi_3" + random_id(ALNUM, 23)


def _stripe_ids(ctx: Context) -> dict[str, str]:
    suffix = ctx.payment_id.split("_", 1)[-1]
    return {
        "payment_intent": ctx.payment_id,
        "charge": f"ch_{suffix}",
        "refund": f"re_{suffix}",
        "dispute": f"dp_{suffix}",
        "balance_transaction": f"txn_{suffix}",
        "payment_method": "pm_" + ctx.derive("pm", length=24),
        "client_secret": f"{ctx.payment_id}_secret_" + ctx.derive("secret", length=25),
        "order": "order_" + ctx.derive("order", string.digits, 8),
    }


def _stripe_event(ctx: Context, event_type: str, obj: Document, previous: Document | None = None,
                  from_api: bool = True) -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: "evt_1" + random_id(ALNUM, 23))
    data: Document = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    request = (
        {"id": "req_" + random_id(ALNUM, 14), "idempotency_key": str(uuid.uuid4())}
        if from_api
        else {"id": None, "idempotency_key": None}
    )
    document = {
        "id": event_id,
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": ctx.unix(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": request,
        "type": event_type,
    }
    return document, event_id


def _stripe_card(last4: str = "4242") -> Document:
    return {"brand": "visa", "checks": {"address_line1_check": None, "address_postal_code_check": "pass",
            "cvc_check": "pass"}, "country": "US", "exp_month": 12, "exp_year": 2030,
            "fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit", "last4": last4, "network": "visa",
            "three_d_secure": None, "wallet": None}


def _payment_intent(ctx: Context, status: str, **changes: Any) -> Document:
    ids = _stripe_ids(ctx)
    intent: Document = {
        "id": ids["payment_intent"],
        "object": "payment_intent",
        "amount": ctx.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": ids["client_secret"],
        "confirmation_method": "automatic",
        "created": ctx.unix(-60),
        "currency": ctx.currency.lower(),
        "customer": None,
        "description": None,
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {"order_id": ids["order"]},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
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


def _charge(ctx: Context, **changes: Any) -> Document:
    ids = _stripe_ids(ctx)
    charge: Document = {
        "id": ids["charge"],
        "object": "charge",
        "amount": ctx.amount,
        "amount_captured": ctx.amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": ids["balance_transaction"],
        "billing_details": {"address": {"city": None, "country": None, "line1": None, "line2": None,
                                        "postal_code": "94103", "state": None},
                            "email": None, "name": "Jenny Rosen", "phone": None},
        "calculated_statement_descriptor": "PAYMENT WEBHOOKS",
        "captured": True,
        "created": ctx.unix(-50),
        "currency": ctx.currency.lower(),
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {"order_id": ids["order"]},
        "on_behalf_of": None,
        "outcome": {"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                    "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized"},
        "paid": True,
        "payment_intent": ids["payment_intent"],
        "payment_method": ids["payment_method"],
        "payment_method_details": {"card": _stripe_card(), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/" + ctx.derive("receipt", length=40),
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    charge.update(changes)
    return charge


def _refund(ctx: Context, status: str) -> Document:
    ids = _stripe_ids(ctx)
    return {
        "id": ids["refund"],
        "object": "refund",
        "amount": ctx.amount,
        "balance_transaction": "txn_" + ctx.derive("refund-txn", length=24),
        "charge": ids["charge"],
        "created": ctx.unix(-5),
        "currency": ctx.currency.lower(),
        "destination_details": {"card": {"reference": ctx.derive("arn", string.digits, 23),
                                         "reference_status": "available",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": {},
        "payment_intent": ids["payment_intent"],
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def _dispute(ctx: Context, status: str, submitted: bool) -> Document:
    ids = _stripe_ids(ctx)
    evidence_fields = ("access_activity_log", "billing_address", "cancellation_policy",
                       "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
                       "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
                       "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
                       "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
                       "refund_refusal_explanation", "service_date", "service_documentation",
                       "shipping_address", "shipping_carrier", "shipping_date", "shipping_documentation",
                       "shipping_tracking_number", "uncategorized_file", "uncategorized_text")
    evidence: Document = {name: None for name in evidence_fields}
    if submitted:
        evidence["customer_name"] = "Jenny Rosen"
        evidence["uncategorized_text"] = "The customer received the goods on time."
    return {
        "id": ids["dispute"],
        "object": "dispute",
        "amount": ctx.amount,
        "balance_transactions": [],
        "charge": ids["charge"],
        "created": ctx.unix(-3600),
        "currency": ctx.currency.lower(),
        "evidence": evidence,
        "evidence_details": {"due_by": ctx.unix(7 * 86400), "has_evidence": submitted, "past_due": False,
                             "submission_count": 1 if submitted else 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": ids["payment_intent"],
        "payment_method_details": {"card": {"brand": "visa", "case_type": "chargeback",
                                            "network_reason_code": "10.4"}, "type": "card"},
        "reason": "fraudulent",
        "status": status,
    }


def _stripe_intent_event(event_type: str, status: str, from_api: bool = True, **changes: Any):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _stripe_ids(ctx)
        values = {key: (ids[value[1:]] if isinstance(value, str) and value.startswith("@") else value)
                  for key, value in changes.items()}
        if values.get("canceled_at") == "now":
            values["canceled_at"] = ctx.unix()
        if values.get("amount_received") == "amount":
            values["amount_received"] = ctx.amount
        if values.get("amount_capturable") == "amount":
            values["amount_capturable"] = ctx.amount
        if event_type == "payment_intent.payment_failed":
            values["last_payment_error"] = {
                "charge": ids["charge"],
                "code": "card_declined",
                "decline_code": "generic_decline",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": "Your card was declined.",
                "payment_method": {"id": ids["payment_method"], "object": "payment_method",
                                   "billing_details": {"address": {"city": None, "country": None, "line1": None,
                                                                   "line2": None, "postal_code": "94103",
                                                                   "state": None},
                                                       "email": None, "name": "Jenny Rosen", "phone": None},
                                   "card": _stripe_card("0002"), "created": ctx.unix(-55), "customer": None,
                                   "livemode": False, "metadata": {}, "type": "card"},
                "type": "card_error",
            }
        if event_type == "payment_intent.requires_action":
            values["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect",
                                   "stripe_js": "https://hooks.stripe.com/redirect/authenticate/src_"
                                   + ctx.derive("3ds", length=24),
                                   "source": "src_" + ctx.derive("3ds", length=24)},
            }
        if event_type == "payment_intent.processing":
            values["processing"] = {"type": "card", "card": {"customer_notification": {
                "approval_requested": False, "completes_at": None}}}
        return _stripe_event(ctx, event_type, _payment_intent(ctx, status, **values), from_api=from_api)

    return build


def _stripe_charge_refunded(ctx: Context) -> tuple[Document, str]:
    charge = _charge(ctx, amount_refunded=ctx.amount, refunded=True)
    return _stripe_event(ctx, "charge.refunded", charge, {"amount_refunded": 0, "refunded": False})


def _stripe_refund_updated(ctx: Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.refund.updated", _refund(ctx, "succeeded"), {"status": "pending"},
                         from_api=False)


def _stripe_dispute_created(ctx: Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.dispute.created", _dispute(ctx, "needs_response", False), from_api=False)


def _stripe_dispute_closed(ctx: Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.dispute.closed", _dispute(ctx, "won", True), {"status": "under_review"},
                         from_api=False)


def _stripe_customer_created(ctx: Context) -> tuple[Document, str]:
    customer: Document = {
        "id": "cus_" + ctx.derive("customer", length=14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": ctx.unix(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": "jenny.rosen@example.com",
        "invoice_prefix": ctx.derive("invoice", UPPER_ALNUM, 8),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False,
        "metadata": {},
        "name": "Jenny Rosen",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    return _stripe_event(ctx, "customer.created", customer)


SAMPLES: list[Sample] = [
    Sample("stripe", "payment_intent.created", "payment_intent.created", "a PaymentIntent was created",
        _stripe_intent_event("payment_intent.created", "requires_payment_method")),
    Sample("stripe", "payment_intent.requires_action", "payment_intent.requires_action",
        "the customer must authenticate (3-D Secure)",
        _stripe_intent_event("payment_intent.requires_action", "requires_action",
        payment_method="@payment_method")),
    Sample("stripe", "payment_intent.processing", "payment_intent.processing", "the payment is processing",
        _stripe_intent_event("payment_intent.processing", "processing", payment_method="@payment_method")),
    Sample("stripe", "payment_intent.amount_capturable_updated", "payment_intent.amount_capturable_updated",
        "authorized, awaiting capture",
        _stripe_intent_event("payment_intent.amount_capturable_updated", "requires_capture",
        capture_method="manual", amount_capturable="amount",
        latest_charge="@charge", payment_method="@payment_method")),
    Sample("stripe", "payment_intent.succeeded", "payment_intent.succeeded", "payment succeeded",
        _stripe_intent_event("payment_intent.succeeded", "succeeded", amount_received="amount",
        latest_charge="@charge", payment_method="@payment_method")),
    Sample("stripe", "payment_intent.payment_failed", "payment_intent.payment_failed", "payment failed (card declined)",
        _stripe_intent_event("payment_intent.payment_failed", "requires_payment_method",
        latest_charge="@charge")),
    Sample("stripe", "payment_intent.canceled", "payment_intent.canceled", "payment canceled",
        _stripe_intent_event("payment_intent.canceled", "canceled", canceled_at="now",
        cancellation_reason="requested_by_customer")),
    Sample("stripe", "charge.refunded", "charge.refunded", "the charge was refunded in full", _stripe_charge_refunded),
    Sample("stripe", "charge.refund.updated", "charge.refund.updated", "a refund went from pending to succeeded",
        _stripe_refund_updated),
    Sample("stripe", "charge.dispute.created", "charge.dispute.created", "a dispute (chargeback) was opened",
        _stripe_dispute_created),
    Sample("stripe", "charge.dispute.closed", "charge.dispute.closed", "a dispute was closed (won)",
        _stripe_dispute_closed),
    Sample("stripe", "customer.created", "customer.created", "not a payment event (stored as ignored)",
        _stripe_customer_created),
]
