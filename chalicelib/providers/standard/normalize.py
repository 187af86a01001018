"""Normalizing (step 6): Standard Webhooks fixes the envelope (``type``, ``timestamp``, ``data``),
not the events, so this gateway documents one generic payment shape (README, "Payments")::
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import fields, money
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord


EVENT_MAPPING: dict[str, tuple[str, str]] = {
    "payment.pending": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payment.processing": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payment.requires_action": (EventKind.PAYMENT, PaymentStatus.REQUIRES_ACTION),
    "payment.authorized": (EventKind.PAYMENT, PaymentStatus.AUTHORIZED),
    "payment.succeeded": (EventKind.PAYMENT, PaymentStatus.SUCCEEDED),
    "payment.captured": (EventKind.PAYMENT, PaymentStatus.SUCCEEDED),
    "payment.failed": (EventKind.PAYMENT, PaymentStatus.FAILED),
    "payment.canceled": (EventKind.PAYMENT, PaymentStatus.CANCELED),
    "payment.cancelled": (EventKind.PAYMENT, PaymentStatus.CANCELED),
    "refund.created": (EventKind.REFUND, PaymentStatus.REFUND_PENDING),
    "refund.pending": (EventKind.REFUND, PaymentStatus.REFUND_PENDING),
    "refund.succeeded": (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED),
    "refund.failed": (EventKind.REFUND, PaymentStatus.REFUND_FAILED),
    "refund.canceled": (EventKind.REFUND, PaymentStatus.REFUND_FAILED),
    "dispute.created": (EventKind.DISPUTE, PaymentStatus.DISPUTE_OPEN),
    "dispute.opened": (EventKind.DISPUTE, PaymentStatus.DISPUTE_OPEN),
    "dispute.updated": (EventKind.DISPUTE, PaymentStatus.DISPUTE_OPEN),
    "dispute.won": (EventKind.DISPUTE, PaymentStatus.DISPUTE_WON),
    "dispute.lost": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST),
}


def generic_amount(data: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """``data.amount`` (integer minor units or decimal string) and ``data.currency``."""
    value = data.get("amount")
    if value is None:
        currency = data.get("currency")
        return None, money.currency_code(currency, "data.currency") if currency is not None else None
    currency = money.currency_code(data.get("currency"), "data.currency")
    if isinstance(value, str):
        return money.minor_units_from_decimal(value, currency, "data.amount"), currency
    return money.minor_units_from_integer(value, currency, "data.amount"), currency


def _object_id(data: Mapping[str, Any], explicit: str, object_name: str) -> str | None:
    """``data.<explicit>``, else ``data.id`` when ``data.object`` is ``object_name``."""
    named = fields.optional_text(data, explicit)
    if named is not None:
        return named
    if data.get("object", object_name) == object_name:
        return fields.optional_text(data, "id")
    return None


def _required(value: str | None, what: str) -> str:
    if value is None:
        raise ProcessingError(f"the event names no {what}")
    return value


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Standard Webhooks event in the generic payment shape, or None outside it."""
    mapping = EVENT_MAPPING.get(webhook.event_type)
    if mapping is None:
        return None
    kind, status = mapping
    document = fields.load_object(webhook.payload)
    data = fields.obj(document, "data")
    amount, currency = generic_amount(data)
    timestamp = document.get("timestamp")
    details: dict[str, Any] = {"currency": currency}
    if kind == EventKind.PAYMENT:
        payment_id = _object_id(data, "payment_id", "payment")
        details["amount"] = amount
    else:
        payment_id = fields.optional_text(data, "payment_id")
        if kind == EventKind.REFUND:
            if amount is None:
                raise ProcessingError("the refund has no data.amount")
            refund_id = _required(_object_id(data, "refund_id", "refund"), "refund id")
            details.update(refund_id=refund_id, refund_amount=amount)
        else:
            details["dispute_id"] = _object_id(data, "dispute_id", "dispute")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_required(payment_id, "payment id"),
        kind=kind,
        status=status,
        occurred_at=fields.rfc3339_time(timestamp, "timestamp") if timestamp else webhook.received_at,
        **details,
    )
