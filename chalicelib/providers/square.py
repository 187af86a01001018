"""Square: ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key, notification URL + body)).

The notification URL is part of what is signed and must be the one registered in Square's
dashboard byte for byte. Behind API Gateway the URL the Lambda sees is not that one (stage paths,
custom domains), so it is configuration, never rebuilt from the request. The older
``x-square-signature`` header is HMAC-SHA1 and is not accepted: a delivery carrying only that one
is missing the header we require. The scheme has no timestamp, so replays are stopped by
deduplicating on ``event_id``.

Normalizing (step 6): payments are keyed by Square's payment id, refunds by their
``payment_id`` and disputes by ``disputed_payment.payment_id``. ``payment.*`` events map by the
payment's ``status``; the payment amount is ``total_money`` (tip included: what refunds are
measured against) and ``refunded_money`` is Square's running total of refunds. Square amounts
are ISO 4217 minor units. The event time is the object's ``updated_at`` (milliseconds), else the
event's ``created_at``.

Options: ``notificationUrl`` (required), the subscription's notification URL exactly as
registered with Square.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError, InvalidSignature, ProcessingError
from chalicelib.payments import fields, money
from chalicelib.payments.model import (
    AUTHORIZED,
    CANCELED,
    DISPUTE,
    DISPUTE_LOST,
    DISPUTE_OPEN,
    DISPUTE_WON,
    FAILED,
    PAYMENT,
    PENDING,
    REFUND,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    SUCCEEDED,
    PaymentEvent,
)
from chalicelib.providers.base import (
    InboundEvent,
    KeyedHmac,
    SourceConfig,
    any_digest_matches,
    base64_text,
    decode_text,
    derived,
    hmac_sha256,
    hmac_sha256_after,
    keyed_hmac,
    parse_json_object,
    require_header,
    require_secrets,
    required_string,
)

if TYPE_CHECKING:
    from chalicelib.store import WebhookRecord

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
NOTIFICATION_URL_OPTION = "notificationUrl"
PAYMENT_EVENT_PREFIXES = ("payment.", "refund.", "dispute.")


def notification_url(source: SourceConfig) -> str:
    """The configured notification URL; without it no delivery can be verified."""
    url = source.options.get(NOTIFICATION_URL_OPTION)
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            f"source {source.name!r}: Square needs the {NOTIFICATION_URL_OPTION!r} option"
        )
    return url


def compute_signature(signature_key: str, url: str, raw: bytes) -> str:
    """Base64 HMAC-SHA256 of the URL's UTF-8 bytes followed by the body exactly as sent."""
    return base64_text(hmac_sha256(signature_key.encode("utf-8"), url.encode("utf-8") + raw))


def signing_material(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC per signature key that has absorbed the notification URL (the constant start of
    what Square signs), checked and made once per configuration (``derived``)."""
    url = notification_url(source).encode("utf-8")
    keys = require_secrets(source, "Square signature keys")
    return tuple(keyed_hmac(key.encode("utf-8"), url) for key in keys)


# -- normalize (step 6) -------------------------------------------------------------------------

PAYMENT_EVENT_TYPES = frozenset({"payment.created", "payment.updated"})
REFUND_EVENT_TYPES = frozenset({"refund.created", "refund.updated"})
DISPUTE_EVENT_PREFIX = "dispute."
PAYMENT_STATUSES: dict[str, str] = {
    "PENDING": PENDING,
    "APPROVED": AUTHORIZED,
    "COMPLETED": SUCCEEDED,
    "CANCELED": CANCELED,
    "FAILED": FAILED,
}
REFUND_STATUSES: dict[str, str] = {
    "PENDING": REFUND_PENDING,
    "COMPLETED": REFUND_SUCCEEDED,
    "REJECTED": REFUND_FAILED,
    "FAILED": REFUND_FAILED,
}
DISPUTE_STATES: dict[str, str] = {
    "INQUIRY_EVIDENCE_REQUIRED": DISPUTE_OPEN,
    "INQUIRY_PROCESSING": DISPUTE_OPEN,
    "EVIDENCE_REQUIRED": DISPUTE_OPEN,
    "PROCESSING": DISPUTE_OPEN,
    "INQUIRY_CLOSED": DISPUTE_WON,  # closed without becoming a chargeback: the money stays
    "WON": DISPUTE_WON,
    "LOST": DISPUTE_LOST,
    "ACCEPTED": DISPUTE_LOST,  # the seller accepted the dispute: the money goes back
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
        kind=PAYMENT,
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
        kind=REFUND,
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
        kind=DISPUTE,
        status=_state(dispute.get("state"), DISPUTE_STATES, "dispute"),
        occurred_at=_time(document, dispute),
        currency=stated[1] if stated is not None else None,
        dispute_id=fields.optional_text(dispute, "id") or fields.text(dispute, "dispute_id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Square event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    if event_type in PAYMENT_EVENT_TYPES:
        return _payment_event(webhook, fields.load_object(webhook.payload))
    if event_type in REFUND_EVENT_TYPES:
        return _refund_event(webhook, fields.load_object(webhook.payload))
    if event_type.startswith(DISPUTE_EVENT_PREFIX):
        return _dispute_event(webhook, fields.load_object(webhook.payload))
    return None


class SquareProvider:
    """Square webhook subscriptions."""

    name: str = "square"

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body against every configured key, then read ``event_id`` and ``type``.

        ``now`` is unused: Square's scheme carries no timestamp.
        """
        keyed = derived(source, signing_material)
        received = require_header(headers, SIGNATURE_HEADER)
        expected = [base64_text(hmac_sha256_after(mac, raw)) for mac in keyed]
        # Compared as base64 text, like Square's SDK; a non-ASCII value can never match (and
        # compare_digest refuses non-ASCII text).
        if not received.isascii() or not any_digest_matches(expected, (received,)):
            raise InvalidSignature()

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            # Positional: a named tuple built from keywords costs 0.25 µs more (timeit).
            InboundEvent(required_string(document, "event_id"), required_string(document, "type"), text)
        ]

    def is_payment_event(self, event_type: str) -> bool:
        """Payments, refunds and disputes."""
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)

    def normalize(self, webhook: WebhookRecord) -> PaymentEvent | None:
        return normalize(webhook)


PROVIDER = SquareProvider()
