"""Normalizing GoCardless events (step 6): ``payments``, ``refunds`` and ``mandates`` actions.

GoCardless events carry **no amounts and no currency**: the amount lives on the resource, which
only the API returns (``GET /payments/PM...``). The PaymentEvents made here therefore state a
status and never an amount, so a GoCardless payment record has a status and no amount until
something else states one. Refund events, without an amount, cannot name a refund (a refund id
needs its amount in a PaymentEvent): they are recorded in the payment's history and published,
and leave the refunded amount unchanged.

- ``payments.<action>`` is keyed by ``links.payment``: created, customer_approval_granted,
  submitted and resubmission_requested are pending; confirmed (collected) and paid_out succeeded;
  failed, customer_approval_denied and late_failure_settled failed; cancelled canceled.
  charged_back and chargeback_settled are a lost dispute (the funds were debited),
  chargeback_cancelled a won one, keyed by the payment too. Other actions are ignored.
  A late failure after ``confirmed`` does not undo ``succeeded`` in the state machine (a final
  phase is never beaten): its history line shows it.
- ``refunds.<action>`` is keyed by ``links.payment`` when the event names it, else by
  ``links.refund``: created is pending, paid and refund_settled succeeded, failed and
  funds_returned failed. Refund events may link only the refund; those land on a record of
  their own until the refund is fetched to learn its payment (not done here).
- ``mandates.<action>`` is keyed by ``links.mandate``: a mandate is the customer's authority to
  collect, so its record follows it in the payment vocabulary: created, submitted,
  customer_approval_granted and resubmission_requested are pending, active is authorized,
  failed failed, cancelled and expired canceled. Other actions (transferred, replaced,
  reinstated, ...) are ignored.

The event time is ``created_at``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import details, fields
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord

# event type -> (kind, status)
EVENT_MAPPING: dict[str, tuple[str, str]] = {
    "payments.created": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payments.customer_approval_granted": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payments.submitted": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payments.resubmission_requested": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "payments.confirmed": (EventKind.PAYMENT, PaymentStatus.SUCCEEDED),
    "payments.paid_out": (EventKind.PAYMENT, PaymentStatus.SUCCEEDED),
    "payments.failed": (EventKind.PAYMENT, PaymentStatus.FAILED),
    "payments.customer_approval_denied": (EventKind.PAYMENT, PaymentStatus.FAILED),
    "payments.late_failure_settled": (EventKind.PAYMENT, PaymentStatus.FAILED),
    "payments.cancelled": (EventKind.PAYMENT, PaymentStatus.CANCELED),
    "payments.charged_back": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST),
    "payments.chargeback_settled": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST),
    "payments.chargeback_cancelled": (EventKind.DISPUTE, PaymentStatus.DISPUTE_WON),
    "refunds.created": (EventKind.REFUND, PaymentStatus.REFUND_PENDING),
    "refunds.paid": (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED),
    "refunds.refund_settled": (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED),
    "refunds.failed": (EventKind.REFUND, PaymentStatus.REFUND_FAILED),
    "refunds.funds_returned": (EventKind.REFUND, PaymentStatus.REFUND_FAILED),
    "mandates.created": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "mandates.submitted": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "mandates.customer_approval_granted": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "mandates.resubmission_requested": (EventKind.PAYMENT, PaymentStatus.PENDING),
    "mandates.active": (EventKind.PAYMENT, PaymentStatus.AUTHORIZED),
    "mandates.failed": (EventKind.PAYMENT, PaymentStatus.FAILED),
    "mandates.cancelled": (EventKind.PAYMENT, PaymentStatus.CANCELED),
    "mandates.expired": (EventKind.PAYMENT, PaymentStatus.CANCELED),
}
# resource type -> the links that may name what the event is keyed by, in order of preference
KEY_LINKS: dict[str, tuple[str, ...]] = {
    "payments": ("payment",),
    "refunds": ("payment", "refund"),
    "mandates": ("mandate",),
}


def _keyed_by(event: dict[str, Any], resource_type: str) -> str:
    for link in KEY_LINKS[resource_type]:
        named = fields.optional_text(event, "links", link)
        if named is not None:
            return named
    raise ProcessingError(f"the event names no {' or '.join(KEY_LINKS[resource_type])}")


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored GoCardless event as a PaymentEvent (with no amount), or None outside the mapping."""
    mapping = EVENT_MAPPING.get(webhook.event_type)
    if mapping is None:
        return None
    kind, status = mapping
    event = fields.load_object(webhook.payload)
    resource_type = webhook.event_type.split(".", 1)[0]
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_keyed_by(event, resource_type),
        kind=kind,
        status=status,
        occurred_at=fields.rfc3339_time(event.get("created_at"), "created_at"),
        references=details.references_of(
            [("mandate", fields.dig(event, "links", "mandate")),
             ("subscription", fields.dig(event, "links", "subscription"))]
            + _metadata_references(event)
        ),
        reason=_reason(event, status),
    )


REASON_STATUSES = frozenset({
    PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.REFUND_FAILED,
    PaymentStatus.DISPUTE_OPEN, PaymentStatus.DISPUTE_LOST, PaymentStatus.DISPUTE_WON,
})


def _reason(event: dict[str, Any], status: str) -> str | None:
    """``details.cause`` (with the scheme's ``reason_code`` when given) and ``details.description``
    of a failure, a cancellation or a chargeback; a routine event's cause (``payment_confirmed``)
    says nothing a ledger needs."""
    if status not in REASON_STATUSES:
        return None
    cause, code = fields.dig(event, "details", "cause"), fields.dig(event, "details", "reason_code")
    if isinstance(cause, str) and isinstance(code, str) and code:
        cause = f"{cause} ({code})"
    return details.reason_of(cause, fields.dig(event, "details", "description"))


def _metadata_references(event: dict[str, Any]) -> list[tuple[str, object]]:
    """The event's ``metadata`` (what the merchant set when creating the payment, which
    GoCardless copies onto the event as ``resource_metadata``), as ``metadata.<key>``."""
    metadata = event.get("resource_metadata") or event.get("metadata")
    if not isinstance(metadata, dict):
        return []
    return [(f"metadata.{key}", value) for key, value in sorted(metadata.items()) if isinstance(key, str)]
