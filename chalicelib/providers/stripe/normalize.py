"""Normalizing (step 6): payments are keyed by PaymentIntent id; charge, refund and dispute events
attach to the PaymentIntent they name (a legacy charge without one is keyed by its charge id).
Stripe amounts are integers in Stripe's smallest unit, which is ISO 4217's except ISK (Stripe
keeps two decimals) and MGA (Stripe counts whole ariary); see ``docs.stripe.com/currencies``.
``created`` (unix seconds) is the event time, so ties within a second are broken by the state
machine's fixed order.

A legacy charge (no PaymentIntent: ``payment_intent`` null) reports its own outcome with
``charge.succeeded`` / ``charge.captured`` / ``charge.failed``, keyed by its charge id; the same
events of a charge that belongs to a PaymentIntent are ignored (its ``payment_intent.*`` events
say it). A zero-value authorisation (``amount`` 0, a card check) is not a payment: ignored. An
unknown *value* (a dispute or refund status Stripe added after this mapping) never dead-letters
the event: it is ignored with a warning carrying ``metric="UnmappedProviderValue"``.

Fees come only from an expanded ``balance_transaction`` (never estimated), references only from
the order keys of ``metadata`` (:data:`ORDER_METADATA_KEYS`), reasons from the failure, refund and
dispute fields (docs/PAYMENTS.md, "Fees, references and reasons").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import log
from chalicelib.errors import ProcessingError
from chalicelib.payments import details, fields, money
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord


PAYMENT_INTENT_STATUSES: dict[str, str] = {
    "payment_intent.created": PaymentStatus.PENDING,
    "payment_intent.processing": PaymentStatus.PENDING,
    "payment_intent.partially_funded": PaymentStatus.PENDING,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
    "payment_intent.amount_capturable_updated": PaymentStatus.AUTHORIZED,
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.canceled": PaymentStatus.CANCELED,
}
# Legacy charges (no PaymentIntent) only: their outcome. ``charge.succeeded`` of a charge that
# was not captured (``captured`` false) is its authorisation.
LEGACY_CHARGE_EVENTS: dict[str, str] = {
    "charge.succeeded": PaymentStatus.SUCCEEDED,
    "charge.captured": PaymentStatus.SUCCEEDED,
    "charge.failed": PaymentStatus.FAILED,
}
CHARGE_REFUNDED = "charge.refunded"
REFUND_EVENT_TYPES = frozenset(
    {"charge.refund.updated", "refund.created", "refund.updated", "refund.failed"}
)
DISPUTE_EVENT_PREFIX = "charge.dispute."
REFUND_STATUSES: dict[str, str] = {
    "pending": PaymentStatus.REFUND_PENDING,
    "requires_action": PaymentStatus.REFUND_PENDING,
    "succeeded": PaymentStatus.REFUND_SUCCEEDED,
    "failed": PaymentStatus.REFUND_FAILED,
    "canceled": PaymentStatus.REFUND_FAILED,
}
DISPUTE_STATUSES: dict[str, str] = {
    "warning_needs_response": PaymentStatus.DISPUTE_OPEN,
    "warning_under_review": PaymentStatus.DISPUTE_OPEN,
    "needs_response": PaymentStatus.DISPUTE_OPEN,
    "under_review": PaymentStatus.DISPUTE_OPEN,
    "won": PaymentStatus.DISPUTE_WON,
    "warning_closed": PaymentStatus.DISPUTE_WON,  # an inquiry closed without a chargeback: the money stays
    "prevented": PaymentStatus.DISPUTE_WON,  # stopped before it became a chargeback: the money stays
    "lost": PaymentStatus.DISPUTE_LOST,
    # A lost dispute being appealed: the funds stay withdrawn until a won appeal says otherwise.
    "appeal_needs_response": PaymentStatus.DISPUTE_LOST,
    "appeal_under_review": PaymentStatus.DISPUTE_LOST,
}
# Stripe's unit differs from ISO 4217 for these currencies (docs.stripe.com/currencies).
STRIPE_UNIT_EXPONENTS: dict[str, int] = {"ISK": 2, "MGA": 0}


def stripe_amount(value: object, currency: str, field: str) -> int:
    """A Stripe integer amount as ISO 4217 minor units (historical ISK fractions rounded)."""
    return money.minor_units_from_integer_or_historical(value, currency, field, STRIPE_UNIT_EXPONENTS.get(currency))


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _stripe_object(document: Mapping[str, Any], expected: str) -> dict[str, Any]:
    obj = fields.obj(document, "data", "object")
    if obj.get("object") != expected:
        raise ProcessingError(f"data.object is not a {expected}")
    return obj


def _payment_id(obj: Mapping[str, Any]) -> str:
    """The PaymentIntent an object belongs to, else its charge (legacy charges have no intent)."""
    payment_id = fields.id_or_expanded(obj, "payment_intent") or fields.id_or_expanded(obj, "charge")
    if payment_id is None:
        raise ProcessingError("data.object names no payment_intent or charge")
    return payment_id


def _unmapped(webhook: WebhookRecord, what: str) -> None:
    """Log an unknown value of a known event, which is then ignored (never dead-lettered)."""
    log.warning("unmapped provider value; event ignored", provider="stripe", eventType=webhook.event_type,
                field=what, webhookId=webhook.webhook_id, metric="UnmappedProviderValue")


def _payment_intent_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent | None:
    intent = _stripe_object(document, "payment_intent")
    status = PAYMENT_INTENT_STATUSES[webhook.event_type]
    if status == PaymentStatus.AUTHORIZED and intent.get("amount") == 0:
        return None  # a zero-value authorisation checks a card; no money will move
    currency = money.currency_code(intent.get("currency"), "data.object.currency")
    field = "amount"
    if status == PaymentStatus.SUCCEEDED and _positive_int(intent.get("amount_received")):
        field = "amount_received"  # what was captured (a partial capture is less than amount)
    elif status == PaymentStatus.AUTHORIZED and _positive_int(intent.get("amount_capturable")):
        field = "amount_capturable"
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(intent, "id"),
        kind=EventKind.PAYMENT,
        status=status,
        occurred_at=at,
        amount=stripe_amount(intent.get(field), currency, f"data.object.{field}"),
        currency=currency,
    )


def _legacy_charge_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent | None:
    """A charge's own outcome, when it belongs to no PaymentIntent (else None: ignored)."""
    charge = _stripe_object(document, "charge")
    if fields.id_or_expanded(charge, "payment_intent") is not None:
        return None  # the PaymentIntent's events report it
    currency = money.currency_code(charge.get("currency"), "data.object.currency")
    status = LEGACY_CHARGE_EVENTS[webhook.event_type]
    field = "amount"
    if webhook.event_type == "charge.succeeded" and charge.get("captured") is False:
        status = PaymentStatus.AUTHORIZED
        if charge.get("amount") == 0:
            return None  # a zero-value authorisation checks a card; no money will move
    elif status == PaymentStatus.SUCCEEDED and _positive_int(charge.get("amount_captured")):
        field = "amount_captured"  # a partial capture is less than amount
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(charge, "id"),
        kind=EventKind.PAYMENT,
        status=status,
        occurred_at=at,
        amount=(
            None if status == PaymentStatus.FAILED
            else stripe_amount(charge.get(field), currency, f"data.object.{field}")
        ),
        currency=currency,
    )


def _charge_refunded_event(
    webhook: WebhookRecord, document: Mapping[str, Any], at: str
) -> PaymentEvent:
    """``charge.refunded``: the charge's running total, and its newest refund when listed.

    Since API version 2022-11-15 the charge no longer embeds ``refunds``; the running total
    ``amount_refunded`` is then what this event contributes (refund ids come with
    ``charge.refund.updated`` / ``refund.*``).
    """
    charge = _stripe_object(document, "charge")
    currency = money.currency_code(charge.get("currency"), "data.object.currency")
    field = "amount_captured" if _positive_int(charge.get("amount_captured")) else "amount"
    refunds = fields.dig(charge, "refunds", "data")
    newest = None
    if isinstance(refunds, list) and refunds:
        listed = [refund for refund in refunds if isinstance(refund, dict)]
        if listed:
            newest = max(listed, key=lambda r: (r.get("created") or 0, str(r.get("id"))))
    refund_fields: dict[str, Any] = {"status": PaymentStatus.REFUND_SUCCEEDED}
    newest_status = _refund_status(newest.get("status")) if newest is not None else None
    if newest is not None and newest_status is None:
        _unmapped(webhook, "data.object.refunds.data.status")  # the running total still counts
    elif newest is not None:
        refund_fields = {
            "status": newest_status,
            "refund_id": fields.text(newest, "id"),
            "refund_amount": stripe_amount(newest.get("amount"), currency, "refunds.data.amount"),
        }
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=(
            fields.id_or_expanded(charge, "payment_intent") or fields.text(charge, "id")
        ),
        kind=EventKind.REFUND,
        occurred_at=at,
        amount=stripe_amount(charge.get(field), currency, f"data.object.{field}"),
        currency=currency,
        refunded_total=stripe_amount(
            charge.get("amount_refunded"), currency, "data.object.amount_refunded"
        ),
        **refund_fields,
    )


def _refund_status(value: object) -> str | None:
    """The refund's status; None for a value this mapping does not know (a missing one raises)."""
    if not isinstance(value, str):
        raise ProcessingError("the refund has no status")
    return REFUND_STATUSES.get(value)


def _refund_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent | None:
    refund = _stripe_object(document, "refund")
    currency = money.currency_code(refund.get("currency"), "data.object.currency")
    status = _refund_status(refund.get("status"))
    if status is None:
        _unmapped(webhook, "data.object.status")
        return None
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_payment_id(refund),
        kind=EventKind.REFUND,
        status=status,
        occurred_at=at,
        currency=currency,
        refund_id=fields.text(refund, "id"),
        refund_amount=stripe_amount(refund.get("amount"), currency, "data.object.amount"),
    )


def _dispute_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent | None:
    dispute = _stripe_object(document, "dispute")
    status = dispute.get("status")
    if not isinstance(status, str):
        raise ProcessingError("the dispute has no status")
    if status not in DISPUTE_STATUSES:
        _unmapped(webhook, "data.object.status")
        return None
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_payment_id(dispute),
        kind=EventKind.DISPUTE,
        status=DISPUTE_STATUSES[status],
        occurred_at=at,
        currency=money.currency_code(dispute.get("currency"), "data.object.currency"),
        dispute_id=fields.text(dispute, "id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Stripe event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    build: Callable[[WebhookRecord, Mapping[str, Any], str], PaymentEvent | None]
    if event_type in PAYMENT_INTENT_STATUSES:
        build = _payment_intent_event
    elif event_type in LEGACY_CHARGE_EVENTS:
        build = _legacy_charge_event
    elif event_type == CHARGE_REFUNDED:
        build = _charge_refunded_event
    elif event_type in REFUND_EVENT_TYPES:
        build = _refund_event
    elif event_type.startswith(DISPUTE_EVENT_PREFIX):
        build = _dispute_event
    else:
        return None
    document = fields.load_object(webhook.payload)
    return _ledger_fields(build(webhook, document, fields.unix_time(document.get("created"), "created")), document)


def _ledger_fields(event: PaymentEvent | None, document: Mapping[str, Any]) -> PaymentEvent | None:
    """The fields the payment record's amounts by kind and context need (issue #13): the capture
    (the PaymentIntent's charge), the dispute's amount and whether it is an inquiry, livemode and
    the connected account."""
    if event is None:  # outside the mapping (e.g. a zero-value authorisation)
        return None
    from dataclasses import replace

    obj = fields.dig(document, "data", "object")
    livemode, account = document.get("livemode"), document.get("account")
    changes: dict[str, Any] = {
        "livemode": livemode if isinstance(livemode, bool) else None,
        "account": account if isinstance(account, str) and account else None,
    }
    if event.kind == EventKind.PAYMENT and event.status == PaymentStatus.SUCCEEDED:
        changes["capture_id"] = fields.id_or_expanded(obj, "latest_charge")
    elif event.kind == EventKind.DISPUTE and isinstance(obj, Mapping) and event.currency is not None:
        status = obj.get("status")
        changes["dispute_inquiry"] = isinstance(status, str) and status.startswith("warning_")
        if obj.get("amount") is not None:
            changes["dispute_amount"] = stripe_amount(obj.get("amount"), event.currency, "data.object.amount")
    if isinstance(obj, Mapping):
        changes.update(_details(event, obj, str(document.get("type", ""))))
        if event.fee_currency is None and event.currency is not None:
            changes.update(details.lenient(lambda: _balance_fee(event, obj), "stripe", event.webhook_id,
                                           "balance_transaction"))
    return replace(event, **changes)


# -- fees, references, reasons (issue #13) -------------------------------------------------------

ORDER_METADATA_KEYS = ("order_id", "orderId", "order_number", "orderNumber", "order")
"""The ``metadata`` keys read as the merchant's order reference (``metadata.<key>``). Metadata is
the merchant's own free map: only these keys are taken, and ``description`` is not (free text
that often holds a customer's name or e-mail)."""


def _details(event: PaymentEvent, obj: Mapping[str, Any], event_type: str) -> dict[str, Any]:
    metadata = obj.get("metadata")
    pairs = ((f"metadata.{key}", metadata.get(key)) for key in ORDER_METADATA_KEYS) if isinstance(
        metadata, Mapping) else ()
    reason: str | None = None
    if obj.get("object") == "payment_intent":
        error = obj.get("last_payment_error")
        if event.status in (PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION) and isinstance(error, Mapping):
            reason = details.reason_of(error.get("decline_code") or error.get("code"), error.get("message"))
        elif event.status == PaymentStatus.CANCELED:
            reason = details.reason_of(obj.get("cancellation_reason"))
    elif obj.get("object") == "charge" and event.kind == EventKind.PAYMENT:
        if event.status == PaymentStatus.FAILED:
            reason = details.reason_of(obj.get("failure_code"), obj.get("failure_message"))
    elif obj.get("object") == "charge" and event_type == CHARGE_REFUNDED:
        newest = _listed_refund(obj, event.refund_id)
        reason = details.reason_of(newest.get("reason")) if newest is not None else None
    elif obj.get("object") == "refund":
        failed = event.status == PaymentStatus.REFUND_FAILED
        reason = details.reason_of(obj.get("failure_reason") if failed else obj.get("reason"))
    elif obj.get("object") == "dispute":
        reason = details.reason_of(obj.get("reason"))
    return {"references": details.references_of(pairs), "reason": reason}


def _listed_refund(charge: Mapping[str, Any], refund_id: str | None) -> Mapping[str, Any] | None:
    listed = fields.dig(charge, "refunds", "data")
    if refund_id is None or not isinstance(listed, list):
        return None
    return next((r for r in listed if isinstance(r, Mapping) and r.get("id") == refund_id), None)


def _balance_fee(event: PaymentEvent, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Fee and net from an expanded ``balance_transaction`` (a charge's, a refund's, or the
    PaymentIntent's ``latest_charge``'s); events normally carry only its id, and then the fee is
    absent: never estimated. The balance transaction is in the settlement currency: when that is
    not the charge's, its amount is the settlement amount and ``exchange_rate`` the rate."""
    if event.kind == EventKind.PAYMENT and event.status == PaymentStatus.SUCCEEDED:
        source = obj.get("latest_charge") if obj.get("object") == "payment_intent" else obj
    elif event.kind == EventKind.REFUND and event.refund_id is not None and obj.get("object") == "refund":
        source = obj
    else:
        return {}
    balance = fields.dig(source, "balance_transaction")
    if not isinstance(balance, Mapping) or balance.get("object") != "balance_transaction":
        return {}
    currency = money.currency_code(balance.get("currency"), "balance_transaction.currency")

    def units(name: str) -> int:
        value = balance.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProcessingError(f"balance_transaction.{name} is not an integer")
        return stripe_amount(abs(value), currency, f"balance_transaction.{name}")

    refund = event.kind == EventKind.REFUND
    fee = balance.get("fee")
    # A refund's balance transaction shows a fee given back as a negative fee; a positive one
    # (a fee charged for refunding) is not a fee given back: left absent rather than misbooked.
    returned = refund and isinstance(fee, int) and fee <= 0
    changes: dict[str, Any] = {
        "fee": units("fee") if (not refund or returned) else None,
        "net": units("net"),
        "fee_currency": currency,
    }
    rate = balance.get("exchange_rate")
    if currency != event.currency:
        changes.update(settlement_amount=units("amount"), settlement_currency=currency,
                       exchange_rate=_rate_text(rate))
    return changes


def _rate_text(rate: object) -> str | None:
    """Stripe's ``exchange_rate`` (a JSON number) as decimal text, None when absent or odd."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        return None
    text = f"{rate:.12f}".rstrip("0").rstrip(".") if isinstance(rate, float) else str(rate)
    return text if details.EXCHANGE_RATE.fullmatch(text) else None
