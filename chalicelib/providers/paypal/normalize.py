"""Normalizing (step 6): a payment is keyed by its order id
(``supplementary_data.related_ids.order_id``) when the resource names one, else by its
authorization id, else by its capture id. A refund names only its capture (the ``up`` link) and a
dispute only its transaction (``disputed_transactions[].seller_transaction_id``, the capture id),
so capture events declare their capture id as a related key of the order: the payment store
links it, and refunds and disputes keyed by the capture land on the order's record. Amounts are
decimal strings (``"10.00"``) converted with the currency's ISO 4217 exponent. The event time is
the resource's ``update_time``, else its ``create_time``, else the event's ``create_time``.

``PAYMENT.SALE.*`` (the v1 Payments API, and what subscriptions and billing agreements still
send) are keyed by the sale id: a sale is one payment (each subscription cycle its own), and its
refund names it as ``sale_id``. Their amounts are v1 ``{"total", "currency"}``; a refund's total
may be written with a minus sign, which says only that money goes back (v1 authorizations and
captures carry the same amounts and are read alike). ``PAYMENT.SALE.REVERSED``
(a chargeback or a reversal PayPal made) is not mapped: the dispute events report it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import details, fields, money
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus, payment_key

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord


CAPTURE_STATUSES: dict[str, str] = {
    "PAYMENT.CAPTURE.PENDING": PaymentStatus.PENDING,
    "PAYMENT.CAPTURE.COMPLETED": PaymentStatus.SUCCEEDED,
    "PAYMENT.CAPTURE.DENIED": PaymentStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": PaymentStatus.FAILED,
}
AUTHORIZATION_STATUSES: dict[str, str] = {
    "PAYMENT.AUTHORIZATION.CREATED": PaymentStatus.AUTHORIZED,
    "PAYMENT.AUTHORIZATION.VOIDED": PaymentStatus.CANCELED,
}
REFUND_EVENT_TYPES = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
SALE_STATUSES: dict[str, str] = {
    "PAYMENT.SALE.PENDING": PaymentStatus.PENDING,
    "PAYMENT.SALE.COMPLETED": PaymentStatus.SUCCEEDED,
    "PAYMENT.SALE.DENIED": PaymentStatus.FAILED,
}
SALE_REFUNDED = "PAYMENT.SALE.REFUNDED"
# v1 refund ``state`` (lower case in the v1 API).
SALE_REFUND_STATES: dict[str, str] = {
    "pending": PaymentStatus.REFUND_PENDING,
    "completed": PaymentStatus.REFUND_SUCCEEDED,
    "failed": PaymentStatus.REFUND_FAILED,
    "cancelled": PaymentStatus.REFUND_FAILED,
}
DISPUTE_EVENT_PREFIX = "CUSTOMER.DISPUTE."
REFUND_STATUSES: dict[str, str] = {
    "PENDING": PaymentStatus.REFUND_PENDING,
    "COMPLETED": PaymentStatus.REFUND_SUCCEEDED,
    "FAILED": PaymentStatus.REFUND_FAILED,
    "CANCELLED": PaymentStatus.REFUND_FAILED,
}
# dispute_outcome.outcome_code of a resolved dispute: did the merchant keep the money?
DISPUTE_OUTCOMES: dict[str, str] = {
    "RESOLVED_BUYER_FAVOUR": PaymentStatus.DISPUTE_LOST,
    "ACCEPTED": PaymentStatus.DISPUTE_LOST,
    "RESOLVED_SELLER_FAVOUR": PaymentStatus.DISPUTE_WON,
    "RESOLVED_WITH_PAYOUT": PaymentStatus.DISPUTE_WON,  # PayPal paid the buyer from its own funds
    "CANCELED_BY_BUYER": PaymentStatus.DISPUTE_WON,
    "DENIED": PaymentStatus.DISPUTE_WON,
    "NONE": PaymentStatus.DISPUTE_WON,  # closed without a decision against the merchant
}


def _minor_units(amount: Mapping[str, Any], path: str, value_key: str, currency_key: str,
                 unsigned: bool = False) -> tuple[int, str]:
    """(minor units, currency code) of an amount object, whichever of PayPal's shapes it has: v2
    ``Money`` (``value``, ``currency_code``), a v1 amount (``total``, ``currency``) or a v1 fee
    (``value``, ``currency``). ``path`` names the object in errors (``resource.amount``). The
    currency is read first: its exponent decides how the decimal is read. ``unsigned`` drops a
    leading minus (v1 refunds write one: the direction is the event's)."""
    code = money.currency_code(amount.get(currency_key), f"{path}.{currency_key}")
    value = amount.get(value_key)
    if unsigned and isinstance(value, str) and value.startswith("-"):
        value = value[1:]
    return money.minor_units_from_decimal(value, code, f"{path}.{value_key}"), code


def paypal_amount(obj: Mapping[str, Any], name: str) -> tuple[int, str] | None:
    """A PayPal ``Money`` (``{"currency_code": "USD", "value": "10.00"}``) as (minor units, code)."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProcessingError(f"resource.{name} is not a Money object")
    return _minor_units(value, f"resource.{name}", "value", "currency_code")


def sale_amount(obj: Mapping[str, Any]) -> tuple[int, str]:
    """A v1 ``amount`` (``{"total": "20.00", "currency": "USD"}``) as (minor units, code); a
    leading minus (v1 refunds) is dropped, the direction being the event's."""
    value = obj.get("amount")
    if not isinstance(value, dict):
        raise ProcessingError("resource.amount is not an amount object")
    return _minor_units(value, "resource.amount", "total", "currency", unsigned=True)


def v1_or_v2_amount(resource: Mapping[str, Any]) -> tuple[int, str] | None:
    """The resource's amount, whether a v2 ``Money`` or a v1 amount: PayPal still sends v1
    ``PAYMENT.AUTHORIZATION.*`` resources (``{"total", "currency"}``) to v1 integrations."""
    value = resource.get("amount")
    if isinstance(value, dict) and "total" in value and "value" not in value:
        return sale_amount(resource)
    return paypal_amount(resource, "amount")


def _sale_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    amount, currency = sale_amount(resource)
    status = SALE_STATUSES[webhook.event_type]
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(resource, "id"),
        kind=EventKind.PAYMENT,
        status=status,
        occurred_at=_time(document, resource),
        amount=None if status == PaymentStatus.FAILED else amount,
        currency=currency,
    )


def _sale_refund_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    amount, currency = sale_amount(resource)
    state = resource.get("state") or "completed"  # PayPal sends the event once the refund is done
    if not isinstance(state, str) or state.lower() not in SALE_REFUND_STATES:
        raise ProcessingError("the sale refund has an unknown state")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(resource, "sale_id"),
        kind=EventKind.REFUND,
        status=SALE_REFUND_STATES[state.lower()],
        occurred_at=_time(document, resource),
        currency=currency,
        refund_id=fields.text(resource, "id"),
        refund_amount=amount,
    )


def _time(document: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    candidates = ((resource, "update_time"), (resource, "create_time"), (document, "create_time"))
    for source, name in candidates:
        if source.get(name):
            return fields.rfc3339_time(source.get(name), name)
    raise ProcessingError("the event has no time")


def _linked_id(resource: Mapping[str, Any], rel: str, collection: str) -> str | None:
    """The id at the end of the ``rel`` link when it points into ``/<collection>/``."""
    links = resource.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(href, str):
            _, found, rest = href.partition(f"/{collection}/")
            candidate = rest.split("/", 1)[0].split("?", 1)[0]
            if found and candidate:
                return candidate
    return None


def _payment_identity(resource: Mapping[str, Any], own_id: str) -> tuple[str, tuple[str, ...]]:
    """(payment id, related payment keys) of a capture or an authorization."""
    related_ids = fields.dig(resource, "supplementary_data", "related_ids")
    order_id = fields.optional_text(related_ids, "order_id")
    authorization_id = fields.optional_text(related_ids, "authorization_id")
    payment_id = order_id or authorization_id or own_id
    others = {own_id, authorization_id} - {payment_id, None}
    return payment_id, tuple(sorted(payment_key("paypal", other) for other in others if other))


def _payment_event(webhook: WebhookRecord, document: Mapping[str, Any], status: str) -> PaymentEvent | None:
    resource = fields.obj(document, "resource")
    payment_id, related = _payment_identity(resource, fields.text(resource, "id"))
    stated = v1_or_v2_amount(resource)
    if stated is None:
        raise ProcessingError("the resource has no amount")
    amount, currency = stated
    if status == PaymentStatus.AUTHORIZED and amount == 0:
        return None  # a zero-value authorisation (vaulting a card) is not a payment
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=payment_id,
        related_payment_keys=related,
        kind=EventKind.PAYMENT,
        status=status,
        occurred_at=_time(document, resource),
        amount=amount,
        currency=currency,
    )


def _refund_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    capture_id = _linked_id(resource, "up", "captures")
    if capture_id is None:
        raise ProcessingError("the refund has no up link to its capture")
    stated = paypal_amount(resource, "amount")
    if stated is None:
        raise ProcessingError("the refund has no amount")
    amount, currency = stated
    breakdown = fields.dig(resource, "seller_payable_breakdown")
    total = paypal_amount(breakdown, "total_refunded_amount") if isinstance(breakdown, dict) else None
    if total is not None and total[1] != currency:
        total = None  # a total in another currency cannot be compared with the payment's amount
    status = resource.get("status")
    if not isinstance(status, str) or status not in REFUND_STATUSES:
        raise ProcessingError("the refund has an unknown status")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=capture_id,
        kind=EventKind.REFUND,
        status=REFUND_STATUSES[status],
        occurred_at=_time(document, resource),
        currency=currency,
        refund_id=fields.text(resource, "id"),
        refund_amount=amount,
        refunded_total=total[0] if total is not None else None,
    )


def _dispute_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    transactions = resource.get("disputed_transactions")
    transaction_id = None
    if isinstance(transactions, list) and transactions:
        transaction_id = fields.optional_text(transactions[0], "seller_transaction_id")
    if transaction_id is None:
        raise ProcessingError("the dispute names no seller_transaction_id")
    if webhook.event_type == "CUSTOMER.DISPUTE.RESOLVED" or resource.get("status") == "RESOLVED":
        outcome = fields.optional_text(resource, "dispute_outcome", "outcome_code") or "NONE"
        if outcome not in DISPUTE_OUTCOMES:
            raise ProcessingError("the dispute has an unknown outcome")
        status = DISPUTE_OUTCOMES[outcome]
    else:
        status = PaymentStatus.DISPUTE_OPEN
    stated = paypal_amount(resource, "dispute_amount")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=transaction_id,
        kind=EventKind.DISPUTE,
        status=status,
        occurred_at=_time(document, resource),
        currency=stated[1] if stated is not None else None,
        dispute_id=fields.text(resource, "dispute_id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored PayPal event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    status = CAPTURE_STATUSES.get(event_type) or AUTHORIZATION_STATUSES.get(event_type)
    if status is not None:
        return _ledger_fields(_payment_event(webhook, fields.load_object(webhook.payload), status), webhook)
    if event_type in REFUND_EVENT_TYPES:
        return _ledger_fields(_refund_event(webhook, fields.load_object(webhook.payload)), webhook)
    if event_type in SALE_STATUSES:
        return _with_details(_sale_event(webhook, fields.load_object(webhook.payload)), webhook)
    if event_type == SALE_REFUNDED:
        return _with_details(_sale_refund_event(webhook, fields.load_object(webhook.payload)), webhook)
    if event_type.startswith(DISPUTE_EVENT_PREFIX):
        return _ledger_fields(_dispute_event(webhook, fields.load_object(webhook.payload)), webhook)
    return None


def _ledger_fields(event: PaymentEvent | None, webhook: WebhookRecord) -> PaymentEvent | None:
    """The fields the payment record's amounts by kind need (issue #13): a capture's id (captures
    are summed per id), a reversal told from a refund (it is the chargeback's money), the dispute's
    amount, and the payee."""
    if event is None:  # outside the mapping (e.g. a zero-value authorisation)
        return None
    from dataclasses import replace

    resource = fields.obj(fields.load_object(webhook.payload), "resource")
    changes: dict[str, Any] = {"account": fields.optional_text(resource, "payee", "merchant_id")}
    if webhook.event_type in CAPTURE_STATUSES:
        changes["capture_id"] = fields.text(resource, "id")
    elif webhook.event_type == "PAYMENT.CAPTURE.REVERSED":
        changes["reversal"] = True
    elif event.kind == EventKind.DISPUTE:
        stated = paypal_amount(resource, "dispute_amount")
        if stated is not None and stated[1] == event.currency:
            changes["dispute_amount"] = stated[0]
    return _with_details(replace(event, **changes), webhook)


# -- fees, references, reasons (issue #13) -------------------------------------------------------

REFERENCE_FIELDS = (("invoiceId", "invoice_id"), ("customId", "custom_id"),
                    ("invoiceNumber", "invoice_number"), ("custom", "custom"))
"""The merchant's references on a v2 capture or refund (``invoice_id``, ``custom_id``) and a v1
sale or sale refund (``invoice_number``, ``custom``)."""


def _breakdown(resource: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A capture's ``seller_receivable_breakdown`` or a refund's ``seller_payable_breakdown``:
    ``paypal_fee`` and ``net_amount`` (in the transaction's currency), and when PayPal converted
    the money, ``receivable_amount`` (captures) or ``net_amount_in_receivable_currency`` (refunds)
    with ``exchange_rate.value``. A v1 sale's ``transaction_fee`` is its fee (no net stated)."""
    breakdown = resource.get(name)
    if not isinstance(breakdown, dict):
        fee_v1 = resource.get("transaction_fee")
        if isinstance(fee_v1, dict):
            value, code = _minor_units(fee_v1, "resource.transaction_fee", "value", "currency")
            return {"fee": value, "fee_currency": code}
        return {}
    fee, net = paypal_amount(breakdown, "paypal_fee"), paypal_amount(breakdown, "net_amount")
    stated = fee or net
    if stated is None:
        return {}
    currency = stated[1]
    changes: dict[str, Any] = {
        "fee": fee[0] if fee is not None else None,
        "net": net[0] if net is not None and net[1] == currency else None,
        "fee_currency": currency,
    }
    settled = (paypal_amount(breakdown, "receivable_amount")
               or paypal_amount(breakdown, "net_amount_in_receivable_currency"))
    rate = fields.dig(breakdown, "exchange_rate", "value")
    if settled is not None and settled[1] != currency:
        changes.update(settlement_amount=settled[0], settlement_currency=settled[1],
                       exchange_rate=rate if isinstance(rate, str) and details.EXCHANGE_RATE.fullmatch(rate) else None)
    return changes


def _with_details(event: PaymentEvent, webhook: WebhookRecord) -> PaymentEvent:
    from dataclasses import replace

    resource = fields.obj(fields.load_object(webhook.payload), "resource")
    changes: dict[str, Any] = {
        "references": details.references_of((name, resource.get(key)) for name, key in REFERENCE_FIELDS),
        # a capture or refund says why it is pending or denied (status_details.reason), a dispute
        # why it was opened (reason), a v1 sale why it is pending (reason_code)
        "reason": details.reason_of(
            fields.dig(resource, "status_details", "reason")
            or (resource.get("reason") if event.kind == EventKind.DISPUTE else None)
            or resource.get("reason_code")
        ),
    }
    if event.kind == EventKind.PAYMENT and event.status == PaymentStatus.SUCCEEDED:
        changes.update(details.lenient(lambda: _breakdown(resource, "seller_receivable_breakdown"), "paypal",
                                       webhook.webhook_id, "seller_receivable_breakdown"))
    elif event.kind == EventKind.REFUND and not event.reversal:
        changes.update(details.lenient(lambda: _breakdown(resource, "seller_payable_breakdown"), "paypal",
                                       webhook.webhook_id, "seller_payable_breakdown"))
    return replace(event, **changes)
