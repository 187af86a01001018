"""Realistic sample events for every provider, in each provider's documented webhook shape.

Like ``stripe trigger``, for every provider: ``python -m ops send SOURCE EVENT_TYPE`` builds one of
these, signs it as the provider would and posts it. The payloads follow the providers' published
examples and API references (Stripe API version 2024-06-20 event and object shapes, Square's
Webhooks reference, PayPal's webhook event names and Orders/Payments v2 resources, Adyen's standard
webhook ``NotificationRequestItem``, and the Standard Webhooks envelope). Payment normalization is
built on them, so the links a real payload carries are kept:

- Stripe charge, refund and dispute objects carry ``payment_intent`` (and ``charge``);
- Square refunds and disputes carry the ``payment_id`` (``disputed_payment.payment_id``);
- PayPal captures and authorizations carry ``supplementary_data.related_ids.order_id`` and a
  ``links`` entry with ``rel: up`` to the order; a refund links ``up`` to its capture, and a dispute
  names the capture in ``disputed_transactions[].seller_transaction_id``;
- Adyen modifications (capture, cancellation, refund, chargeback) carry ``originalReference``, the
  payment's ``pspReference``.

Samples are parametric (:class:`SampleOptions`): one ``payment_id`` sent through several event types
gives one payment's life cycle, because every related id (charge, order, capture, refund, dispute,
modification references) is derived from the payment id deterministically. Amounts are in minor
units as Stripe, Square and Adyen send them (PayPal's decimal strings are derived). The catalog key
is the provider's event type, with a ``:variant`` suffix where one type has several outcomes
(``payment.updated:failed``, ``AUTHORISATION:refused``).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

STRIPE_API_VERSION = "2024-06-20"
SQUARE_MERCHANT_ID = "6SSW7HV8K2ST5"
SQUARE_LOCATION_ID = "S8GWD5R9QB376"
PAYPAL_API = "https://api.sandbox.paypal.com"
PAYPAL_MERCHANT_ID = "C8NHK6E2MFMQ4"
ADYEN_MERCHANT_ACCOUNT = "PaymentWebhooksECOM"
ADYEN_FAILURE_REASON = "Refused"

_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits
# ISO 4217 minor units where they are not 2 (for PayPal's decimal amounts).
_MINOR_UNITS = {"BIF": 0, "CLP": 0, "HUF": 0, "ISK": 0, "JPY": 0, "KRW": 0, "TWD": 0, "VND": 0, "XAF": 0,
                "XOF": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}

Document = dict[str, Any]


class UnknownSample(Exception):
    """No sample of that name for that provider; the message lists the ones there are."""


@dataclass(frozen=True)
class SampleOptions:
    payment_id: str | None = None
    """The provider's id of the payment (PaymentIntent, Square payment, PayPal order, Adyen
    pspReference, Standard ``pay_...``); a new one when None. Reuse it to send a life cycle."""
    amount: int = 2000
    """In minor units (2000 = 20.00 USD)."""
    currency: str = "USD"
    event_id: str | None = None
    """The provider's event id (Standard Webhooks: the ``webhook-id``); a new one when None.
    Adyen has none: its notifications are identified by their signed fields."""
    now: float | None = None


@dataclass(frozen=True)
class BuiltEvent:
    provider: str
    sample: str
    event_type: str
    document: Document
    event_id: str
    """The id the receiver deduplicates on (for Adyen, its dedupe key)."""
    payment_id: str


@dataclass(frozen=True)
class Sample:
    provider: str
    name: str
    event_type: str
    description: str
    builder: Callable[[_Context], tuple[Document, str]] = field(repr=False)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _derived(seed: str, salt: str, alphabet: str, length: int) -> str:
    """A stable id made from ``seed``: the same payment always has the same refund id, etc."""
    digest = hashlib.sha256(f"{seed}|{salt}".encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def decimal_amount(amount: int, currency: str) -> str:
    """Minor units as a decimal string, as PayPal writes amounts ("20.00", "2000" for JPY)."""
    digits = _MINOR_UNITS.get(currency.upper(), 2)
    if digits == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


class _Context:
    """What one build knows: options with generated defaults, and helpers for derived values."""

    def __init__(self, provider: str, options: SampleOptions, new_payment_id: Callable[[], str]) -> None:
        self.provider = provider
        self.options = options
        self.payment_id = options.payment_id or new_payment_id()
        self.amount = options.amount
        self.currency = options.currency.upper()
        self.now = options.now if options.now is not None else time.time()

    def derive(self, salt: str, alphabet: str = _ALNUM, length: int = 24) -> str:
        return _derived(self.payment_id, salt, alphabet, length)

    def event_id(self, new: Callable[[], str]) -> str:
        return self.options.event_id or new()

    def unix(self, offset_seconds: float = 0) -> int:
        return int(self.now + offset_seconds)

    def iso(self, offset_seconds: float = 0, millis: bool = True) -> str:
        moment = datetime.fromtimestamp(self.now + offset_seconds, tz=timezone.utc)
        if millis:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def money(self, amount: int | None = None) -> dict[str, Any]:
        return {"amount": self.amount if amount is None else amount, "currency": self.currency}

    def paypal_money(self, amount: int | None = None) -> dict[str, str]:
        value = self.amount if amount is None else amount
        return {"currency_code": self.currency, "value": decimal_amount(value, self.currency)}


# ------------------------------------------------------------------------------------------
# Stripe: events wrap a snapshot of the object in data.object (API version 2024-06-20)
# ------------------------------------------------------------------------------------------


def _stripe_ids(ctx: _Context) -> dict[str, str]:
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


def _stripe_event(ctx: _Context, event_type: str, obj: Document, previous: Document | None = None,
                  from_api: bool = True) -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: "evt_1" + _random(_ALNUM, 23))
    data: Document = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    request = (
        {"id": "req_" + _random(_ALNUM, 14), "idempotency_key": str(uuid.uuid4())}
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


def _payment_intent(ctx: _Context, status: str, **changes: Any) -> Document:
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


def _charge(ctx: _Context, **changes: Any) -> Document:
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


def _refund(ctx: _Context, status: str) -> Document:
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


def _dispute(ctx: _Context, status: str, submitted: bool) -> Document:
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


def _stripe_intent_event(event_type: str, status: str, from_api: bool = True, **changes: Any):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
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


def _stripe_charge_refunded(ctx: _Context) -> tuple[Document, str]:
    charge = _charge(ctx, amount_refunded=ctx.amount, refunded=True)
    return _stripe_event(ctx, "charge.refunded", charge, {"amount_refunded": 0, "refunded": False})


def _stripe_refund_updated(ctx: _Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.refund.updated", _refund(ctx, "succeeded"), {"status": "pending"},
                         from_api=False)


def _stripe_dispute_created(ctx: _Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.dispute.created", _dispute(ctx, "needs_response", False), from_api=False)


def _stripe_dispute_closed(ctx: _Context) -> tuple[Document, str]:
    return _stripe_event(ctx, "charge.dispute.closed", _dispute(ctx, "won", True), {"status": "under_review"},
                         from_api=False)


def _stripe_customer_created(ctx: _Context) -> tuple[Document, str]:
    customer = {
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
        "invoice_prefix": ctx.derive("invoice", _UPPER_ALNUM, 8),
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


# ------------------------------------------------------------------------------------------
# Square: {merchant_id, type, event_id, created_at, data: {type, id, object: {<type>: {...}}}}
# ------------------------------------------------------------------------------------------


def _square_ids(ctx: _Context) -> dict[str, str]:
    return {
        "payment": ctx.payment_id,
        "order": ctx.derive("order", _ALNUM, 29),
        "refund": f"{ctx.payment_id}_" + ctx.derive("refund", _ALNUM, 43),
        "dispute": ctx.derive("dispute", _ALNUM, 22),
        "brand_dispute": ctx.derive("brand-dispute", _ALNUM, 22),
    }


def _square_event(ctx: _Context, event_type: str, object_type: str, object_id: str, obj: Document) -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: str(uuid.uuid4()))
    document = {
        "merchant_id": SQUARE_MERCHANT_ID,
        "type": event_type,
        "event_id": event_id,
        "created_at": ctx.iso(),
        "data": {"type": object_type, "id": object_id, "object": {object_type: obj}},
    }
    return document, event_id


def _square_payment(ctx: _Context, status: str, card_status: str, version: int) -> Document:
    ids = _square_ids(ctx)
    timeline: Document = {"authorized_at": ctx.iso(-30)}
    payment: Document = {
        "amount_money": ctx.money(),
        "application_details": {"application_id": "sandbox-sq0idb-" + ctx.derive("app", _ALNUM, 22),
                                "square_product": "ECOMMERCE_API"},
        "card_details": {
            "avs_status": "AVS_ACCEPTED",
            "card": {"bin": "411111", "card_brand": "VISA", "card_type": "CREDIT", "exp_month": 12,
                     "exp_year": 2030, "fingerprint": "sq-1-" + ctx.derive("fingerprint", _ALNUM, 40),
                     "last_4": "1111", "prepaid_type": "NOT_PREPAID"},
            "card_payment_timeline": timeline,
            "cvv_status": "CVV_ACCEPTED",
            "entry_method": "KEYED",
            "statement_description": "SQ *PAYMENT WEBHOOKS",
            "status": card_status,
        },
        "created_at": ctx.iso(-31),
        "delay_action": "CANCEL",
        "delay_duration": "PT168H",
        "delayed_until": ctx.iso(168 * 3600 - 31),
        "id": ids["payment"],
        "location_id": SQUARE_LOCATION_ID,
        "order_id": ids["order"],
        "risk_evaluation": {"created_at": ctx.iso(-30), "risk_level": "NORMAL"},
        "source_type": "CARD",
        "status": status,
        "total_money": ctx.money(),
        "updated_at": ctx.iso(),
        "version": version,
        "version_token": ctx.derive(f"version-{version}", _ALNUM, 43),
    }
    if status in ("APPROVED", "COMPLETED"):
        payment["approved_money"] = ctx.money()
    if status == "COMPLETED":
        timeline["captured_at"] = ctx.iso()
        payment["processing_fee"] = [{"amount_money": ctx.money(ctx.amount * 29 // 1000 + 30),
                                      "effective_at": ctx.iso(), "type": "INITIAL"}]
        payment["receipt_number"] = ids["payment"][:4]
        payment["receipt_url"] = f"https://squareupsandbox.com/receipt/preview/{ids['payment']}"
    if status == "FAILED":
        payment["card_details"]["errors"] = [{"category": "PAYMENT_METHOD_ERROR", "code": "GENERIC_DECLINE",
                                              "detail": "Authorization error: 'GENERIC_DECLINE'"}]
    if status == "CANCELED":
        timeline["voided_at"] = ctx.iso()
    return payment


def _square_payment_event(event_type: str, status: str, card_status: str, version: int):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        payment = _square_payment(ctx, status, card_status, version)
        return _square_event(ctx, event_type, "payment", payment["id"], payment)

    return build


def _square_refund_event(event_type: str, status: str, version: int):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        ids = _square_ids(ctx)
        refund: Document = {
            "amount_money": ctx.money(),
            "created_at": ctx.iso(-10),
            "destination_type": "CARD",
            "id": ids["refund"],
            "location_id": SQUARE_LOCATION_ID,
            "order_id": ids["order"],
            "payment_id": ids["payment"],
            "reason": "Returned goods",
            "status": status,
            "updated_at": ctx.iso(),
            "version": version,
        }
        if status == "COMPLETED":
            refund["processing_fee"] = [{"amount_money": ctx.money(-(ctx.amount * 29 // 1000)),
                                         "effective_at": ctx.iso(), "type": "INITIAL"}]
        return _square_event(ctx, event_type, "refund", ids["refund"], refund)

    return build


def _square_dispute_event(event_type: str, state: str, version: int):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        ids = _square_ids(ctx)
        dispute = {
            "amount_money": ctx.money(),
            "brand_dispute_id": ids["brand_dispute"],
            "card_brand": "VISA",
            "created_at": ctx.iso(-3600),
            "dispute_id": ids["dispute"],
            "disputed_payment": {"payment_id": ids["payment"]},
            "due_at": ctx.iso(14 * 86400),
            "id": ids["dispute"],
            "location_id": SQUARE_LOCATION_ID,
            "reason": "NO_KNOWLEDGE",
            "reported_at": ctx.iso(-3600),
            "state": state,
            "updated_at": ctx.iso(),
            "version": version,
        }
        return _square_event(ctx, event_type, "dispute", ids["dispute"], dispute)

    return build


# ------------------------------------------------------------------------------------------
# PayPal: {id, event_version, create_time, resource_type, resource_version, event_type, summary,
#          resource, links}; resources are Payments v2 captures, authorizations and refunds
# ------------------------------------------------------------------------------------------


def _paypal_ids(ctx: _Context) -> dict[str, str]:
    return {
        "order": ctx.payment_id,
        "capture": ctx.derive("capture", _UPPER_ALNUM, 17),
        "authorization": ctx.derive("authorization", _UPPER_ALNUM, 17),
        "refund": ctx.derive("refund", _UPPER_ALNUM, 17),
        "dispute": "PP-D-" + ctx.derive("dispute", string.digits, 5),
    }


def _link(path: str, rel: str, method: str = "GET") -> Document:
    return {"href": f"{PAYPAL_API}{path}", "rel": rel, "method": method}


def _paypal_event(ctx: _Context, event_type: str, resource_type: str, resource: Document, summary: str,
                  resource_version: str = "2.0") -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: f"WH-{_random(_UPPER_ALNUM, 17)}-{_random(_UPPER_ALNUM, 17)}")
    document = {
        "id": event_id,
        "event_version": "1.0",
        "create_time": ctx.iso(),
        "resource_type": resource_type,
        "resource_version": resource_version,
        "event_type": event_type,
        "summary": summary,
        "resource": resource,
        "links": [
            _link(f"/v1/notifications/webhooks-events/{event_id}", "self"),
            _link(f"/v1/notifications/webhooks-events/{event_id}/resend", "resend", "POST"),
        ],
    }
    return document, event_id


def _paypal_fee(ctx: _Context) -> int:
    return ctx.amount * 349 // 10000 + 49


def _paypal_capture(status: str, event_type: str, summary: str):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        capture: Document = {
            "id": ids["capture"],
            "amount": ctx.paypal_money(),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE",
                                  "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "status": status,
            "supplementary_data": {"related_ids": {"order_id": ids["order"]}},
            "create_time": ctx.iso(-5, millis=False),
            "update_time": ctx.iso(millis=False),
            "links": [
                _link(f"/v2/payments/captures/{ids['capture']}", "self"),
                _link(f"/v2/payments/captures/{ids['capture']}/refund", "refund", "POST"),
                _link(f"/v2/checkout/orders/{ids['order']}", "up"),
            ],
        }
        if status == "COMPLETED":
            fee = _paypal_fee(ctx)
            capture["seller_receivable_breakdown"] = {"gross_amount": ctx.paypal_money(),
                                                      "paypal_fee": ctx.paypal_money(fee),
                                                      "net_amount": ctx.paypal_money(ctx.amount - fee)}
        if status == "PENDING":
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        if status == "DENIED":
            capture["links"] = [capture["links"][0], capture["links"][2]]  # nothing left to refund
        text = summary.format(amount=decimal_amount(ctx.amount, ctx.currency), currency=ctx.currency)
        return _paypal_event(ctx, event_type, "capture", capture, text)

    return build


def _paypal_refunded(ctx: _Context) -> tuple[Document, str]:
    ids = _paypal_ids(ctx)
    fee = _paypal_fee(ctx) - 49  # PayPal keeps its fixed fee on a refund
    refund = {
        "id": ids["refund"],
        "amount": ctx.paypal_money(),
        "note_to_payer": "Refund for your order",
        "seller_payable_breakdown": {"gross_amount": ctx.paypal_money(), "paypal_fee": ctx.paypal_money(fee),
                                     "net_amount": ctx.paypal_money(ctx.amount - fee),
                                     "total_refunded_amount": ctx.paypal_money()},
        "status": "COMPLETED",
        "create_time": ctx.iso(-2, millis=False),
        "update_time": ctx.iso(millis=False),
        "links": [
            _link(f"/v2/payments/refunds/{ids['refund']}", "self"),
            _link(f"/v2/payments/captures/{ids['capture']}", "up"),
        ],
    }
    summary = f"A {decimal_amount(ctx.amount, ctx.currency)} {ctx.currency} capture payment was refunded"
    return _paypal_event(ctx, "PAYMENT.CAPTURE.REFUNDED", "refund", refund, summary)


def _paypal_authorization(status: str, event_type: str, summary: str):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        path = f"/v2/payments/authorizations/{ids['authorization']}"
        links = [_link(path, "self")]
        if status == "CREATED":
            links += [_link(f"{path}/capture", "capture", "POST"), _link(f"{path}/void", "void", "POST"),
                      _link(f"{path}/reauthorize", "reauthorize", "POST")]
        links.append(_link(f"/v2/checkout/orders/{ids['order']}", "up"))
        authorization = {
            "id": ids["authorization"],
            "amount": ctx.paypal_money(),
            "expiration_time": ctx.iso(29 * 86400, millis=False),
            "seller_protection": {"status": "ELIGIBLE",
                                  "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "status": status,
            "supplementary_data": {"related_ids": {"order_id": ids["order"]}},
            "create_time": ctx.iso(-60, millis=False),
            "update_time": ctx.iso(millis=False),
            "links": links,
        }
        return _paypal_event(ctx, event_type, "authorization", authorization, summary)

    return build


def _paypal_dispute(status: str, event_type: str, summary: str):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        dispute: Document = {
            "dispute_id": ids["dispute"],
            "create_time": ctx.iso(-3600),
            "update_time": ctx.iso(),
            "disputed_transactions": [{
                "seller_transaction_id": ids["capture"],
                "create_time": ctx.iso(-86400),
                "transaction_status": "COMPLETED",
                "gross_amount": ctx.paypal_money(),
                "buyer": {"name": "John Doe"},
                "seller": {"merchant_id": PAYPAL_MERCHANT_ID, "name": "Payment Webhooks Test Store"},
                "items": [],
                "seller_protection_eligible": True,
            }],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "status": status,
            "dispute_amount": ctx.paypal_money(),
            "dispute_life_cycle_stage": "INQUIRY",
            "dispute_channel": "INTERNAL",
            "messages": [{"posted_by": "BUYER", "time_posted": ctx.iso(-3600),
                          "content": "I have not received the item yet."}],
            "seller_response_due_date": ctx.iso(20 * 86400),
            "links": [_link(f"/v1/customer/disputes/{ids['dispute']}", "self")],
        }
        if status == "RESOLVED":
            dispute["dispute_outcome"] = {"outcome_code": "RESOLVED_SELLER_FAVOUR"}
            dispute.pop("seller_response_due_date")
        return _paypal_event(ctx, event_type, "dispute", dispute, summary.format(id=ids["dispute"]),
                             resource_version="1.0")

    return build


# ------------------------------------------------------------------------------------------
# Adyen: {live, notificationItems: [{NotificationRequestItem: {...}}]}; the sender signs each item
# ------------------------------------------------------------------------------------------


def adyen_notification_item(
    event_code: str,
    psp_reference: str,
    *,
    success: bool = True,
    original_reference: str | None = None,
    amount: int = 2000,
    currency: str = "USD",
    merchant_reference: str = "order-1234",
    event_date: str = "2024-02-15T12:00:00+00:00",
    reason: str = "",
    additional_data: Document | None = None,
    operations: list[str] | None = None,
    payment_method: str = "visa",
) -> Document:
    """One ``{"NotificationRequestItem": {...}}`` entry, unsigned (``ops.signing`` signs it)."""
    item: Document = {
        "additionalData": dict(additional_data or {}),
        "amount": {"currency": currency, "value": amount},
        "eventCode": event_code,
        "eventDate": event_date,
        "merchantAccountCode": ADYEN_MERCHANT_ACCOUNT,
        "merchantReference": merchant_reference,
        "paymentMethod": payment_method,
        "pspReference": psp_reference,
        "reason": reason,
        "success": "true" if success else "false",
    }
    if original_reference:
        item["originalReference"] = original_reference
    if operations is not None:
        item["operations"] = operations
    return {"NotificationRequestItem": item}


def adyen_dedupe_key(item: Document) -> str:
    """The id the receiver deduplicates an Adyen item on (see chalicelib/providers/adyen.py)."""
    fields = item["NotificationRequestItem"]
    return ":".join((fields["pspReference"], fields["eventCode"], fields["success"],
                     fields.get("originalReference", "")))


def _adyen(event_code: str, success: bool = True):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        payment = ctx.payment_id
        common = {"amount": ctx.amount, "currency": ctx.currency,
                  "merchant_reference": "order-" + ctx.derive("order", string.digits, 8),
                  "event_date": datetime.fromtimestamp(ctx.now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")}
        if event_code == "AUTHORISATION":
            if success:
                auth_code = ctx.derive("auth", string.digits, 6)
                item = adyen_notification_item(
                    event_code, payment, reason=f"{auth_code}:1111:03/2030",
                    additional_data={"authCode": auth_code, "cardSummary": "1111", "expiryDate": "03/2030",
                                     "cardBin": "411111", "paymentMethodVariant": "visa"},
                    operations=["CANCEL", "CAPTURE", "REFUND"], **common)
            else:
                item = adyen_notification_item(
                    event_code, payment, success=False, reason=ADYEN_FAILURE_REASON,
                    additional_data={"cardSummary": "0002", "expiryDate": "03/2030",
                                     "refusalReasonRaw": "05 : Do not honor"}, **common)
        else:
            additional: Document = {}
            reason = ""
            if event_code == "CHARGEBACK":
                reason = "Merchandise/Services Not Received"
                additional = {"chargebackReasonCode": "13.1", "chargebackSchemeCode": "visa",
                              "defensePeriodEndsAt": ctx.iso(14 * 86400, millis=False), "defendable": "true",
                              "disputeStatus": "Undefended", "modificationMerchantReferences": ""}
            modification = ctx.derive(event_code, _UPPER_ALNUM, 16)
            item = adyen_notification_item(event_code, modification, original_reference=payment, reason=reason,
                                           additional_data=additional, **common)
        return {"live": "false", "notificationItems": [item]}, adyen_dedupe_key(item)

    return build


# ------------------------------------------------------------------------------------------
# Standard Webhooks: {type, timestamp, data}; the event id travels in the webhook-id header
# ------------------------------------------------------------------------------------------


def _standard(event_type: str):  # type: ignore[no-untyped-def]
    def build(ctx: _Context) -> tuple[Document, str]:
        event_id = ctx.event_id(lambda: "msg_" + _random(_ALNUM, 27))
        payment = ctx.payment_id
        base = {"amount": ctx.amount, "currency": ctx.currency, "created_at": ctx.iso()}
        data: Document
        if event_type == "payment.succeeded":
            data = {"object": "payment", "id": payment, "status": "succeeded", **base}
        elif event_type == "payment.failed":
            data = {"object": "payment", "id": payment, "status": "failed", "failure_code": "card_declined",
                    "failure_message": "The card was declined.", **base}
        elif event_type == "refund.succeeded":
            data = {"object": "refund", "id": "re_" + ctx.derive("refund", _ALNUM, 24), "payment_id": payment,
                    "status": "succeeded", "reason": "requested_by_customer", **base}
        else:
            data = {"object": "dispute", "id": "dp_" + ctx.derive("dispute", _ALNUM, 24), "payment_id": payment,
                    "status": "needs_response", "reason": "fraudulent", "evidence_due_by": ctx.iso(7 * 86400),
                    **base}
        data["metadata"] = {"order_id": "order_" + ctx.derive("order", string.digits, 8)}
        return {"type": event_type, "timestamp": ctx.iso(), "data": data}, event_id

    return build


# ------------------------------------------------------------------------------------------
# The catalog
# ------------------------------------------------------------------------------------------

PAYMENT_ID_FACTORIES: dict[str, Callable[[], str]] = {
    "stripe": lambda: "pi_3" + _random(_ALNUM, 23),
    "square": lambda: _random(_ALNUM, 29),
    "paypal": lambda: _random(_UPPER_ALNUM, 17),
    "adyen": lambda: _random(_UPPER_ALNUM, 16),
    "standard": lambda: "pay_" + _random(_ALNUM, 24),
}


def _entries() -> list[Sample]:
    s = Sample
    return [
        s("stripe", "payment_intent.created", "payment_intent.created", "a PaymentIntent was created",
          _stripe_intent_event("payment_intent.created", "requires_payment_method")),
        s("stripe", "payment_intent.requires_action", "payment_intent.requires_action",
          "the customer must authenticate (3-D Secure)",
          _stripe_intent_event("payment_intent.requires_action", "requires_action",
                               payment_method="@payment_method")),
        s("stripe", "payment_intent.processing", "payment_intent.processing", "the payment is processing",
          _stripe_intent_event("payment_intent.processing", "processing", payment_method="@payment_method")),
        s("stripe", "payment_intent.amount_capturable_updated", "payment_intent.amount_capturable_updated",
          "authorized, awaiting capture",
          _stripe_intent_event("payment_intent.amount_capturable_updated", "requires_capture",
                               capture_method="manual", amount_capturable="amount",
                               latest_charge="@charge", payment_method="@payment_method")),
        s("stripe", "payment_intent.succeeded", "payment_intent.succeeded", "payment succeeded",
          _stripe_intent_event("payment_intent.succeeded", "succeeded", amount_received="amount",
                               latest_charge="@charge", payment_method="@payment_method")),
        s("stripe", "payment_intent.payment_failed", "payment_intent.payment_failed", "payment failed (card declined)",
          _stripe_intent_event("payment_intent.payment_failed", "requires_payment_method",
                               latest_charge="@charge")),
        s("stripe", "payment_intent.canceled", "payment_intent.canceled", "payment canceled",
          _stripe_intent_event("payment_intent.canceled", "canceled", canceled_at="now",
                               cancellation_reason="requested_by_customer")),
        s("stripe", "charge.refunded", "charge.refunded", "the charge was refunded in full", _stripe_charge_refunded),
        s("stripe", "charge.refund.updated", "charge.refund.updated", "a refund went from pending to succeeded",
          _stripe_refund_updated),
        s("stripe", "charge.dispute.created", "charge.dispute.created", "a dispute (chargeback) was opened",
          _stripe_dispute_created),
        s("stripe", "charge.dispute.closed", "charge.dispute.closed", "a dispute was closed (won)",
          _stripe_dispute_closed),
        s("stripe", "customer.created", "customer.created", "not a payment event (stored as ignored)",
          _stripe_customer_created),

        s("square", "payment.created", "payment.created", "a card payment was authorized (APPROVED)",
          _square_payment_event("payment.created", "APPROVED", "AUTHORIZED", 1)),
        s("square", "payment.updated", "payment.updated", "payment completed (COMPLETED)",
          _square_payment_event("payment.updated", "COMPLETED", "CAPTURED", 4)),
        s("square", "payment.updated:failed", "payment.updated", "payment failed (FAILED, declined)",
          _square_payment_event("payment.updated", "FAILED", "FAILED", 2)),
        s("square", "payment.updated:canceled", "payment.updated", "payment canceled (CANCELED, voided)",
          _square_payment_event("payment.updated", "CANCELED", "VOIDED", 3)),
        s("square", "refund.created", "refund.created", "a refund was requested (PENDING)",
          _square_refund_event("refund.created", "PENDING", 1)),
        s("square", "refund.updated", "refund.updated", "a refund completed (COMPLETED)",
          _square_refund_event("refund.updated", "COMPLETED", 2)),
        s("square", "dispute.created", "dispute.created", "a dispute was opened (EVIDENCE_REQUIRED)",
          _square_dispute_event("dispute.created", "EVIDENCE_REQUIRED", 1)),
        s("square", "dispute.state.updated", "dispute.state.updated", "a dispute was decided (WON)",
          _square_dispute_event("dispute.state.updated", "WON", 4)),

        s("paypal", "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.CREATED", "a payment was authorized",
          _paypal_authorization("CREATED", "PAYMENT.AUTHORIZATION.CREATED", "A payment authorization was created")),
        s("paypal", "PAYMENT.AUTHORIZATION.VOIDED", "PAYMENT.AUTHORIZATION.VOIDED", "an authorization was voided",
          _paypal_authorization("VOIDED", "PAYMENT.AUTHORIZATION.VOIDED", "A payment authorization was voided")),
        s("paypal", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.PENDING", "a capture is pending review",
          _paypal_capture("PENDING", "PAYMENT.CAPTURE.PENDING", "Payment pending for {amount} {currency}")),
        s("paypal", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.COMPLETED", "payment captured (success)",
          _paypal_capture("COMPLETED", "PAYMENT.CAPTURE.COMPLETED", "Payment completed for {amount} {currency}")),
        s("paypal", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DENIED", "payment capture denied (failure)",
          _paypal_capture("DENIED", "PAYMENT.CAPTURE.DENIED", "Payment denied for {amount} {currency}")),
        s("paypal", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REFUNDED", "a capture was refunded",
          _paypal_refunded),
        s("paypal", "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.CREATED", "a buyer opened a dispute",
          _paypal_dispute("OPEN", "CUSTOMER.DISPUTE.CREATED", "A new dispute opened with Case # {id}")),
        s("paypal", "CUSTOMER.DISPUTE.RESOLVED", "CUSTOMER.DISPUTE.RESOLVED", "a dispute was resolved (seller's favour)",
          _paypal_dispute("RESOLVED", "CUSTOMER.DISPUTE.RESOLVED", "A dispute was resolved with Case # {id}")),

        s("adyen", "AUTHORISATION", "AUTHORISATION", "payment authorised (success=true)", _adyen("AUTHORISATION")),
        s("adyen", "AUTHORISATION:refused", "AUTHORISATION", "payment refused (success=false)",
          _adyen("AUTHORISATION", success=False)),
        s("adyen", "CAPTURE", "CAPTURE", "the payment was captured", _adyen("CAPTURE")),
        s("adyen", "CANCELLATION", "CANCELLATION", "the authorisation was cancelled", _adyen("CANCELLATION")),
        s("adyen", "REFUND", "REFUND", "the payment was refunded", _adyen("REFUND")),
        s("adyen", "CHARGEBACK", "CHARGEBACK", "a chargeback was received", _adyen("CHARGEBACK")),

        s("standard", "payment.succeeded", "payment.succeeded", "payment succeeded", _standard("payment.succeeded")),
        s("standard", "payment.failed", "payment.failed", "payment failed", _standard("payment.failed")),
        s("standard", "refund.succeeded", "refund.succeeded", "a refund succeeded", _standard("refund.succeeded")),
        s("standard", "dispute.created", "dispute.created", "a dispute was opened", _standard("dispute.created")),
    ]


CATALOG: dict[str, dict[str, Sample]] = {}
for _sample in _entries():
    CATALOG.setdefault(_sample.provider, {})[_sample.name] = _sample


# One payment's life, in the order it happens, per provider: what `ops lifecycle` sends.
LIFECYCLES: dict[str, tuple[str, ...]] = {
    "stripe": ("payment_intent.created", "payment_intent.processing", "payment_intent.succeeded",
               "charge.refunded", "charge.dispute.created", "charge.dispute.closed"),
    "square": ("payment.created", "payment.updated", "refund.created", "refund.updated",
               "dispute.created", "dispute.state.updated"),
    "paypal": ("PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED",
               "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED"),
    "adyen": ("AUTHORISATION", "CAPTURE", "REFUND", "CHARGEBACK"),
    "standard": ("payment.succeeded", "refund.succeeded", "dispute.created"),
}


def providers() -> list[str]:
    return list(CATALOG)


def sample_names(provider: str) -> list[str]:
    return list(CATALOG.get(provider, {}))


def find_sample(provider: str, name: str) -> Sample:
    samples = CATALOG.get(provider)
    if samples is None:
        raise UnknownSample(f"no samples for provider {provider!r}")
    sample = samples.get(name)
    if sample is None:
        raise UnknownSample(f"unknown event type {name!r} for {provider}; known: {', '.join(samples)}")
    return sample


def build(provider: str, name: str, options: SampleOptions | None = None) -> BuiltEvent:
    """The sample ``name`` of ``provider`` as the provider would send it (before signing)."""
    sample = find_sample(provider, name)
    ctx = _Context(provider, options or SampleOptions(), PAYMENT_ID_FACTORIES[provider])
    document, event_id = sample.builder(ctx)
    return BuiltEvent(provider, name, sample.event_type, document, event_id, ctx.payment_id)
