"""Normalizing Razorpay events (step 6): payments, refunds and disputes.

Payments are keyed by Razorpay's payment id (``pay_...``): refunds name it as ``payment_id`` and
disputes as ``payment_id`` too. Amounts are integers in the currency's smallest unit (paise for
INR), which is ISO 4217's minor unit. The event time is the event's ``created_at`` (unix seconds).

- ``payment.authorized`` authorized, ``payment.captured`` succeeded, ``payment.failed`` failed,
  each with ``payload.payment.entity.amount``;
- ``refund.created`` pending, ``refund.processed`` succeeded, ``refund.failed`` failed, with
  ``payload.refund.entity`` (``id``, ``amount``, ``payment_id``);
- ``payment.dispute.created``, ``.under_review``, ``.action_required`` open, ``.won`` won and
  ``.lost`` lost, with ``payload.dispute.entity``; ``payment.dispute.closed`` is ignored (its
  outcome comes as ``.won`` or ``.lost``).

A zero-value payment (the authorisation transaction that registers an e-mandate or a card token
for recurring payments) is not a payment: its events are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.payments import details, fields, money
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord

PAYMENT_STATUSES: dict[str, str] = {
    "payment.authorized": PaymentStatus.AUTHORIZED,
    "payment.captured": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
}
REFUND_STATUSES: dict[str, str] = {
    "refund.created": PaymentStatus.REFUND_PENDING,
    "refund.processed": PaymentStatus.REFUND_SUCCEEDED,
    "refund.failed": PaymentStatus.REFUND_FAILED,
}
DISPUTE_STATUSES: dict[str, str] = {
    "payment.dispute.created": PaymentStatus.DISPUTE_OPEN,
    "payment.dispute.under_review": PaymentStatus.DISPUTE_OPEN,
    "payment.dispute.action_required": PaymentStatus.DISPUTE_OPEN,
    "payment.dispute.won": PaymentStatus.DISPUTE_WON,
    "payment.dispute.lost": PaymentStatus.DISPUTE_LOST,
}


def _entity(document: Mapping[str, Any], name: str) -> dict[str, Any]:
    return fields.obj(document, "payload", name, "entity")


def _amount(entity: Mapping[str, Any], name: str) -> tuple[int, str]:
    """The entity's ``amount`` (smallest currency unit) and ``currency``."""
    currency = money.currency_code(entity.get("currency"), f"payload.{name}.entity.currency")
    amount = money.minor_units_from_integer(entity.get("amount"), currency, f"payload.{name}.entity.amount")
    return amount, currency


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Razorpay event as a PaymentEvent, or None outside the mapping."""
    event_type = webhook.event_type
    if not (event_type in PAYMENT_STATUSES or event_type in REFUND_STATUSES or event_type in DISPUTE_STATUSES):
        return None
    document = fields.load_object(webhook.payload)
    at = fields.unix_time(document.get("created_at"), "created_at")
    if event_type in PAYMENT_STATUSES:
        payment = _entity(document, "payment")
        amount, currency = _amount(payment, "payment")
        if amount == 0:
            return None  # a mandate or token registration: no money moves
        status = PAYMENT_STATUSES[event_type]
        return PaymentEvent.from_webhook(
            webhook, provider_payment_id=fields.text(payment, "id"), kind=EventKind.PAYMENT,
            status=status, occurred_at=at, amount=amount, currency=currency,
            **_references_and_reason(payment, status),
            **details.lenient(lambda: _fee(payment, amount, currency), "razorpay", webhook.webhook_id, "fee"),
        )
    if event_type in REFUND_STATUSES:
        refund = _entity(document, "refund")
        amount, currency = _amount(refund, "refund")
        return PaymentEvent.from_webhook(
            webhook, provider_payment_id=fields.text(refund, "payment_id"), kind=EventKind.REFUND,
            status=REFUND_STATUSES[event_type], occurred_at=at, currency=currency,
            refund_id=fields.text(refund, "id"), refund_amount=amount,
            **_references_and_reason(refund, REFUND_STATUSES[event_type]),
        )
    dispute = _entity(document, "dispute")
    return PaymentEvent.from_webhook(
        webhook, provider_payment_id=fields.text(dispute, "payment_id"), kind=EventKind.DISPUTE,
        status=DISPUTE_STATUSES[event_type], occurred_at=at,
        currency=money.currency_code(dispute.get("currency"), "payload.dispute.entity.currency"),
        dispute_id=fields.text(dispute, "id"),
        reason=details.reason_of(dispute.get("reason_code"), dispute.get("reason_description")),
    )


def _fee(payment: Mapping[str, Any], amount: int, currency: str) -> dict[str, Any]:
    """Razorpay's ``fee`` (its fee *including* the GST in ``tax``, ``service_tax`` in older
    payloads) in the payment's currency; the net is the amount minus it. Null until captured."""
    fee = payment.get("fee")
    if fee is None:
        return {}
    value = money.minor_units_from_integer(fee, currency, "payload.payment.entity.fee")
    return {"fee": value, "net": amount - value if amount >= value else None, "fee_currency": currency}


def _references_and_reason(entity: Mapping[str, Any], status: str) -> dict[str, Any]:
    """``order_id`` and the merchant's ``notes`` (``notes.<key>``, bounded), and a failure's
    ``error_code`` with ``error_description``."""
    notes = entity.get("notes")
    pairs: list[tuple[str, object]] = [("orderId", entity.get("order_id"))]
    if isinstance(notes, Mapping):
        pairs += [(f"notes.{key}", value) for key, value in sorted(notes.items()) if isinstance(key, str)]
    failed = status in (PaymentStatus.FAILED, PaymentStatus.REFUND_FAILED)
    reason = (details.reason_of(entity.get("error_code"), entity.get("error_description") or entity.get("error_reason"))
              if failed else None)
    return {"references": details.references_of(pairs), "reason": reason}
