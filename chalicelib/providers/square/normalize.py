"""Normalizing (step 6): payments are keyed by Square's payment id, refunds by their
``payment_id`` and disputes by ``disputed_payment.payment_id``. ``payment.*`` events map by the
payment's ``status``; the payment amount is ``total_money`` (tip included: what refunds are
measured against) and ``refunded_money`` is Square's running total of refunds. Square amounts
are ISO 4217 minor units. The event time is the object's ``updated_at`` (milliseconds), else the
event's ``created_at``. The seller (``merchant_id``) is the payment's account; ``processing_fee``
gives the fees (docs/PAYMENTS.md, "Fees, references and reasons").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import details, fields, money
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord


PAYMENT_EVENT_TYPES = frozenset({"payment.created", "payment.updated"})
REFUND_EVENT_TYPES = frozenset({"refund.created", "refund.updated"})
DISPUTE_EVENT_PREFIX = "dispute."
PAYMENT_STATUSES: dict[str, str] = {
    "PENDING": PaymentStatus.PENDING,
    "APPROVED": PaymentStatus.AUTHORIZED,
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "CANCELED": PaymentStatus.CANCELED,
    "FAILED": PaymentStatus.FAILED,
}
REFUND_STATUSES: dict[str, str] = {
    "PENDING": PaymentStatus.REFUND_PENDING,
    "COMPLETED": PaymentStatus.REFUND_SUCCEEDED,
    "REJECTED": PaymentStatus.REFUND_FAILED,
    "FAILED": PaymentStatus.REFUND_FAILED,
}
DISPUTE_STATES: dict[str, str] = {
    "INQUIRY_EVIDENCE_REQUIRED": PaymentStatus.DISPUTE_OPEN,
    "INQUIRY_PROCESSING": PaymentStatus.DISPUTE_OPEN,
    "EVIDENCE_REQUIRED": PaymentStatus.DISPUTE_OPEN,
    "PROCESSING": PaymentStatus.DISPUTE_OPEN,
    "INQUIRY_CLOSED": PaymentStatus.DISPUTE_WON,  # closed without becoming a chargeback: the money stays
    "WON": PaymentStatus.DISPUTE_WON,
    "LOST": PaymentStatus.DISPUTE_LOST,
    "ACCEPTED": PaymentStatus.DISPUTE_LOST,  # the seller accepted the dispute: the money goes back
}


def _money(obj: Mapping[str, Any], name: str, currency: str | None = None) -> tuple[int, str] | None:
    """A Square ``Money`` field (``{"amount": 100, "currency": "USD"}``) as (minor units, code)."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProcessingError(f"{name} is not a Money object")
    code = money.currency_code(value.get("currency"), f"{name}.currency")
    if currency is not None and code != currency:
        raise ProcessingError(f"{name} is in another currency than the payment")
    return money.minor_units_from_integer(value.get("amount"), code, f"{name}.amount"), code


def _state(value: object, table: Mapping[str, str], what: str) -> str:
    if not isinstance(value, str) or value not in table:
        raise ProcessingError(f"the {what} has an unknown status")
    return table[value]


def _time(document: Mapping[str, Any], obj: Mapping[str, Any]) -> str:
    if obj.get("updated_at"):
        return fields.rfc3339_time(obj.get("updated_at"), "updated_at")
    return fields.rfc3339_time(document.get("created_at"), "created_at")


def _payment_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    payment = fields.obj(document, "data", "object", "payment")
    stated = _money(payment, "total_money") or _money(payment, "amount_money")
    if stated is None:
        raise ProcessingError("the payment has no amount_money")
    amount, currency = stated
    refunded = _money(payment, "refunded_money", currency)
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(payment, "id"),
        kind=EventKind.PAYMENT,
        status=_state(payment.get("status"), PAYMENT_STATUSES, "payment"),
        occurred_at=_time(document, payment),
        amount=amount,
        currency=currency,
        refunded_total=refunded[0] if refunded is not None else None,
    )


def _refund_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    refund = fields.obj(document, "data", "object", "refund")
    stated = _money(refund, "amount_money")
    if stated is None:
        raise ProcessingError("the refund has no amount_money")
    amount, currency = stated
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(refund, "payment_id"),
        kind=EventKind.REFUND,
        status=_state(refund.get("status"), REFUND_STATUSES, "refund"),
        occurred_at=_time(document, refund),
        currency=currency,
        refund_id=fields.text(refund, "id"),
        refund_amount=amount,
    )


def _disputed_payment_id(dispute: Mapping[str, Any]) -> str:
    """``disputed_payment.payment_id`` (current API), else the older ``disputed_payments[0]``."""
    payment_id = fields.optional_text(dispute, "disputed_payment", "payment_id")
    if payment_id is None:
        listed = dispute.get("disputed_payments")
        if isinstance(listed, list) and listed:
            payment_id = fields.optional_text(listed[0], "payment_id")
    if payment_id is None:
        raise ProcessingError("the dispute names no disputed payment")
    return payment_id


def _dispute_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent | None:
    dispute = fields.dig(document, "data", "object", "dispute")
    if not isinstance(dispute, dict):
        return None  # evidence events carry no dispute: nothing about the payment's money
    stated = _money(dispute, "amount_money")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_disputed_payment_id(dispute),
        kind=EventKind.DISPUTE,
        status=_state(dispute.get("state"), DISPUTE_STATES, "dispute"),
        occurred_at=_time(document, dispute),
        currency=stated[1] if stated is not None else None,
        dispute_id=fields.optional_text(dispute, "id") or fields.text(dispute, "dispute_id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Square event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    if event_type in PAYMENT_EVENT_TYPES:
        return _with_details(_payment_event(webhook, fields.load_object(webhook.payload)), webhook, "payment")
    if event_type in REFUND_EVENT_TYPES:
        return _with_details(_refund_event(webhook, fields.load_object(webhook.payload)), webhook, "refund")
    if event_type.startswith(DISPUTE_EVENT_PREFIX):
        return _with_details(_dispute_event(webhook, fields.load_object(webhook.payload)), webhook, "dispute")
    return None


# -- context, fees, references, reasons (issue #13) ----------------------------------------------

REFERENCE_FIELDS = (("orderId", "order_id"), ("referenceId", "reference_id"), ("locationId", "location_id"))
REFUND_REFERENCE_FIELDS = (("refundOrderId", "order_id"), ("locationId", "location_id"))
"""A refund's ``order_id`` is its own (the return's order), not the payment's: named apart, so it
never competes with the payment's ``orderId`` on the record."""


def _processing_fees(obj: Mapping[str, Any]) -> tuple[int, str] | None:
    """The sum of ``processing_fee[].amount_money`` (Square lists one per fee it applied: an
    initial one, later adjustments), None without fees; fees in two currencies are refused."""
    listed = obj.get("processing_fee")
    if not isinstance(listed, list) or not listed:
        return None
    total, currency = 0, None
    for fee in listed:
        value = fee.get("amount_money") if isinstance(fee, dict) else None
        if not isinstance(value, dict):
            raise ProcessingError("processing_fee.amount_money is not a Money object")
        code = money.currency_code(value.get("currency"), "processing_fee.amount_money.currency")
        if currency is not None and code != currency:
            raise ProcessingError("processing_fee lists fees in two currencies")
        amount = value.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ProcessingError("processing_fee.amount_money.amount is not an integer")
        sign = -1 if amount < 0 else 1  # a refund's fees are negative: given back to the seller
        total += sign * money.minor_units_from_integer(abs(amount), code, "processing_fee.amount_money.amount")
        currency = code
    assert currency is not None
    return total, currency


def _fee(event: PaymentEvent, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A payment's fees (``net`` is ``total_money`` minus them), or the fees a refund gives back
    (``net`` is what the seller paid out: the refund minus them)."""
    stated = _processing_fees(obj)
    if stated is None:
        return {}
    total, currency = stated
    if event.kind == EventKind.REFUND:
        if total > 0:
            return {}  # a refund that costs a fee is not a fee given back: left absent
        returned = -total
        net = event.refund_amount - returned if event.refund_amount is not None and currency == event.currency else None
        return {"fee": returned, "net": net if net is None or net >= 0 else None, "fee_currency": currency}
    if total < 0:
        return {}
    gross = event.amount if currency == event.currency else None
    net = gross - total if gross is not None and gross >= total else None
    return {"fee": total, "net": net, "fee_currency": currency}


def _reason(obj: Mapping[str, Any], kind: str, status: str) -> str | None:
    if kind == EventKind.PAYMENT:
        errors = fields.dig(obj, "card_details", "errors")
        if status == PaymentStatus.FAILED and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return details.reason_of(errors[0].get("code"), errors[0].get("detail"))
        return None
    return details.reason_of(obj.get("reason"))


def _with_details(event: PaymentEvent | None, webhook: WebhookRecord, name: str) -> PaymentEvent | None:
    """The seller (``merchant_id``) as the account, the order and location references, the fees
    (``processing_fee``) and the reason (a refund's or a dispute's ``reason``, a failed card's
    first error)."""
    if event is None:
        return None
    from dataclasses import replace

    document = fields.load_object(webhook.payload)
    obj = fields.obj(document, "data", "object", name)
    changes: dict[str, Any] = {
        "account": fields.optional_text(document, "merchant_id"),
        "references": details.references_of(
            (label, obj.get(key)) for label, key in (REFUND_REFERENCE_FIELDS if name == "refund" else REFERENCE_FIELDS)
        ),
        "reason": _reason(obj, event.kind, event.status),
    }
    if event.kind in (EventKind.PAYMENT, EventKind.REFUND):
        changes.update(details.lenient(lambda: _fee(event, obj), "square", webhook.webhook_id, "processing_fee"))
    return replace(event, **changes)
