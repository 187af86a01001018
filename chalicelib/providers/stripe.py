"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` over ``f"{t}."`` + raw body.

The key is the whole ``whsec_...`` string as UTF-8 (Stripe does not base64-decode it). Several
``v1`` entries appear while Stripe rolls a secret, and ``source.secrets`` may hold several secrets
while we roll ours: any pair that matches passes. ``v0`` is a legacy scheme that stripe-python
ignores too. The SDK is deliberately not imported (cold start); it is used
in the tests to prove this module agrees with it.

Normalizing (step 6): payments are keyed by PaymentIntent id; charge, refund and dispute events
attach to the PaymentIntent they name (a legacy charge without one is keyed by its charge id).
Stripe amounts are integers in Stripe's smallest unit, which is ISO 4217's except ISK (Stripe
keeps two decimals) and MGA (Stripe counts whole ariary); see ``docs.stripe.com/currencies``.
``created`` (unix seconds) is the event time, so ties within a second are broken by the state
machine's fixed order.

Options: none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidSignature, ProcessingError
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
    REQUIRES_ACTION,
    SUCCEEDED,
    PaymentEvent,
)
from chalicelib.providers.base import (
    InboundEvent,
    KeyedHmac,
    SourceConfig,
    any_digest_matches,
    check_timestamp,
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

SIGNATURE_HEADER = "stripe-signature"
SIGNATURE_SCHEME = "v1"
PAYMENT_EVENT_PREFIXES = ("payment_intent.", "charge.", "refund.")

# Digits only: int() would also take "+12", " 12" or "1_2", none of which Stripe sends. The
# length cap keeps a hostile header from costing a huge int conversion.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a ``Stripe-Signature`` header.

    Anything unparseable is :class:`InvalidSignature`: a header we cannot read is a signature
    that does not verify. Exactly one ``t`` is required, since with two we could not know which
    one was signed.
    """
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise InvalidSignature()
    if not signatures:
        raise InvalidSignature()
    return int(timestamps[0]), signatures


def signed_bytes(timestamp: int, raw: bytes) -> bytes:
    """What Stripe signs: the timestamp as decimal, a dot, then the body exactly as sent."""
    return f"{timestamp}.".encode("ascii") + raw


def compute_signature(secret: str, timestamp: int, raw: bytes) -> str:
    """Hex HMAC-SHA256 keyed with the whole ``whsec_`` string (not base64-decoded)."""
    return hmac_sha256(secret.encode("utf-8"), signed_bytes(timestamp, raw)).hex()


def signing_keys(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC keyed with each secret, checked and made once per configuration (``derived``)."""
    return tuple(keyed_hmac(secret.encode("utf-8")) for secret in require_secrets(source, "Stripe secrets"))


# -- normalize (step 6) -------------------------------------------------------------------------

PAYMENT_INTENT_STATUSES: dict[str, str] = {
    "payment_intent.created": PENDING,
    "payment_intent.processing": PENDING,
    "payment_intent.partially_funded": PENDING,
    "payment_intent.requires_action": REQUIRES_ACTION,
    "payment_intent.amount_capturable_updated": AUTHORIZED,
    "payment_intent.succeeded": SUCCEEDED,
    "payment_intent.payment_failed": FAILED,
    "payment_intent.canceled": CANCELED,
}
CHARGE_REFUNDED = "charge.refunded"
REFUND_EVENT_TYPES = frozenset(
    {"charge.refund.updated", "refund.created", "refund.updated", "refund.failed"}
)
DISPUTE_EVENT_PREFIX = "charge.dispute."
REFUND_STATUSES: dict[str, str] = {
    "pending": REFUND_PENDING,
    "requires_action": REFUND_PENDING,
    "succeeded": REFUND_SUCCEEDED,
    "failed": REFUND_FAILED,
    "canceled": REFUND_FAILED,
}
DISPUTE_STATUSES: dict[str, str] = {
    "warning_needs_response": DISPUTE_OPEN,
    "warning_under_review": DISPUTE_OPEN,
    "needs_response": DISPUTE_OPEN,
    "under_review": DISPUTE_OPEN,
    "won": DISPUTE_WON,
    "warning_closed": DISPUTE_WON,  # an inquiry closed without a chargeback: the money stays
    "lost": DISPUTE_LOST,
}
# Stripe's unit differs from ISO 4217 for these currencies (docs.stripe.com/currencies).
STRIPE_UNIT_EXPONENTS: dict[str, int] = {"ISK": 2, "MGA": 0}


def stripe_amount(value: object, currency: str, field: str) -> int:
    """A Stripe integer amount as ISO 4217 minor units."""
    return money.minor_units_from_integer(value, currency, field, STRIPE_UNIT_EXPONENTS.get(currency))


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


def _payment_intent_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent:
    intent = _stripe_object(document, "payment_intent")
    status = PAYMENT_INTENT_STATUSES[webhook.event_type]
    currency = money.currency_code(intent.get("currency"), "data.object.currency")
    field = "amount"
    if status == SUCCEEDED and _positive_int(intent.get("amount_received")):
        field = "amount_received"  # what was captured (a partial capture is less than amount)
    elif status == AUTHORIZED and _positive_int(intent.get("amount_capturable")):
        field = "amount_capturable"
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=fields.text(intent, "id"),
        kind=PAYMENT,
        status=status,
        occurred_at=at,
        amount=stripe_amount(intent.get(field), currency, f"data.object.{field}"),
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
    refund_fields: dict[str, Any] = {"status": REFUND_SUCCEEDED}
    if newest is not None:
        refund_fields = {
            "status": _refund_status(newest.get("status")),
            "refund_id": fields.text(newest, "id"),
            "refund_amount": stripe_amount(newest.get("amount"), currency, "refunds.data.amount"),
        }
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=(
            fields.id_or_expanded(charge, "payment_intent") or fields.text(charge, "id")
        ),
        kind=REFUND,
        occurred_at=at,
        amount=stripe_amount(charge.get(field), currency, f"data.object.{field}"),
        currency=currency,
        refunded_total=stripe_amount(
            charge.get("amount_refunded"), currency, "data.object.amount_refunded"
        ),
        **refund_fields,
    )


def _refund_status(value: object) -> str:
    if not isinstance(value, str) or value not in REFUND_STATUSES:
        raise ProcessingError("the refund has an unknown status")
    return REFUND_STATUSES[value]


def _refund_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent:
    refund = _stripe_object(document, "refund")
    currency = money.currency_code(refund.get("currency"), "data.object.currency")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_payment_id(refund),
        kind=REFUND,
        status=_refund_status(refund.get("status")),
        occurred_at=at,
        currency=currency,
        refund_id=fields.text(refund, "id"),
        refund_amount=stripe_amount(refund.get("amount"), currency, "data.object.amount"),
    )


def _dispute_event(webhook: WebhookRecord, document: Mapping[str, Any], at: str) -> PaymentEvent:
    dispute = _stripe_object(document, "dispute")
    status = dispute.get("status")
    if not isinstance(status, str) or status not in DISPUTE_STATUSES:
        raise ProcessingError("the dispute has an unknown status")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=_payment_id(dispute),
        kind=DISPUTE,
        status=DISPUTE_STATUSES[status],
        occurred_at=at,
        currency=money.currency_code(dispute.get("currency"), "data.object.currency"),
        dispute_id=fields.text(dispute, "id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored Stripe event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    if event_type in PAYMENT_INTENT_STATUSES:
        build = _payment_intent_event
    elif event_type == CHARGE_REFUNDED:
        build = _charge_refunded_event
    elif event_type in REFUND_EVENT_TYPES:
        build = _refund_event
    elif event_type.startswith(DISPUTE_EVENT_PREFIX):
        build = _dispute_event
    else:
        return None
    document = fields.load_object(webhook.payload)
    return build(webhook, document, fields.unix_time(document.get("created"), "created"))


class StripeProvider:
    """Stripe webhook endpoints (snapshot events)."""

    name: str = "stripe"

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then the timestamp, then read the event's ``id`` and ``type``.

        The timestamp is checked only once a signature matched, so :class:`SignatureExpired`
        always means "authentic but too old or too new" and never hides a forgery.
        """
        keys = derived(source, signing_keys)
        timestamp, received = parse_signature_header(require_header(headers, SIGNATURE_HEADER))
        signed = signed_bytes(timestamp, raw)
        expected = [hmac_sha256_after(key, signed).hex() for key in keys]
        # Compared as hex text, as sent; a non-ASCII value can never match (and compare_digest
        # refuses non-ASCII text).
        candidates = [value for value in received if value.isascii()]
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()
        check_timestamp(timestamp, now, source.tolerance_seconds)

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            # Positional: a named tuple built from keywords costs 0.25 µs more (timeit).
            InboundEvent(required_string(document, "id"), required_string(document, "type"), text)
        ]

    def is_payment_event(self, event_type: str) -> bool:
        """PaymentIntents, charges (refunds and disputes included) and refunds."""
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)

    def normalize(self, webhook: WebhookRecord) -> PaymentEvent | None:
        return normalize(webhook)


PROVIDER = StripeProvider()
