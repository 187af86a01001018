"""Standard Webhooks (Svix and others): headers ``webhook-id``, ``-timestamp`` and ``-signature``.

The signature header holds space-separated ``v1,<base64>`` entries: base64(HMAC-SHA256(key,
f"{id}.{timestamp}." + body)). The key is the base64 decoding of the secret after its ``whsec_``
prefix (unlike Stripe, which uses the text itself). ``v1a,`` (ed25519) and unknown versions are
ignored. Svix sends the same headers as ``svix-*``; those are read only when no ``webhook-*``
header is present, so the id, timestamp and signature always come from one family.

The event id is the ``webhook-id`` header: it is stable across retries and signed, while the
body need not carry an id at all.

Normalizing (step 6): Standard Webhooks fixes the envelope (``type``, ``timestamp``, ``data``),
not the events, so this gateway documents one generic payment shape (README, "Payments")::

    {"type": "refund.succeeded", "timestamp": "2024-02-15T12:00:00Z",
     "data": {"object": "refund", "id": "re_1", "payment_id": "pay_123",
              "amount": 1500, "currency": "USD"}}

``type`` is ``payment.<status>``, ``refund.<status>`` or ``dispute.<status>`` (the table below).
``data.object`` names what ``data.id`` identifies; ``data.payment_id`` names the payment (for a
payment object it defaults to ``data.id``); ``data.refund_id`` and ``data.dispute_id`` may name
the refund and the dispute explicitly instead. ``data.amount`` is an integer in ISO 4217 minor
units or a decimal string in major units (``"15.00"``): the payment's amount for payment events,
the refund's for refund events. ``timestamp`` is the event time (the receive time when absent).

Options: none.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload, ProcessingError
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
    base64_text,
    check_timestamp,
    decode_text,
    derived,
    hmac_sha256,
    hmac_sha256_after,
    keyed_hmac,
    parse_json_object,
    require_header,
)

if TYPE_CHECKING:
    from chalicelib.store import WebhookRecord

HEADER_FAMILIES = ("webhook", "svix")
# Each family's (id, timestamp, signature) header names, spelled out once rather than formatted
# on every delivery.
HEADER_NAMES: dict[str, tuple[str, str, str]] = {
    family: (f"{family}-id", f"{family}-timestamp", f"{family}-signature") for family in HEADER_FAMILIES
}
SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
UNKNOWN_EVENT_TYPE = "unknown"
PAYMENT_EVENT_PREFIXES = ("payment.", "refund.", "dispute.", "charge.")

# Digits only: int() would also take "+12", " 12" or "1_2". The cap bounds the conversion.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class SignatureHeaders(NamedTuple):
    """What the three headers say, read but not yet verified."""

    msg_id: str
    timestamp: int
    signatures: list[str]


def header_family(headers: Mapping[str, str]) -> str:
    """``svix`` when only ``svix-*`` headers are present, else ``webhook`` (named when missing)."""
    for family in HEADER_FAMILIES:
        id_header, timestamp_header, signature_header = HEADER_NAMES[family]
        if id_header in headers or timestamp_header in headers or signature_header in headers:
            return family
    return HEADER_FAMILIES[0]


def parse_signature_list(header: str) -> list[str]:
    """The base64 values of the ``v1,`` entries; none at all is :class:`InvalidSignature`."""
    signatures: list[str] = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version == SIGNATURE_VERSION and value:
            signatures.append(value)
    if not signatures:
        raise InvalidSignature()
    return signatures


def read_headers(headers: Mapping[str, str]) -> SignatureHeaders:
    """The id, timestamp and signatures; absent is :class:`MissingHeader`, unreadable invalid."""
    id_header, timestamp_header, signature_header = HEADER_NAMES[header_family(headers)]
    msg_id = require_header(headers, id_header)
    timestamp = require_header(headers, timestamp_header)
    signature = require_header(headers, signature_header)
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature()
    return SignatureHeaders(msg_id, int(timestamp), parse_signature_list(signature))


def secret_key(source: SourceConfig, secret: str) -> bytes:
    """The HMAC key: base64 after ``whsec_`` (padding restored, as the reference library does)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"source {source.name!r}: Standard Webhooks secrets must be whsec_<base64>"
        ) from None  # the error text could quote the secret
    if not key:
        raise ConfigurationError(
            f"source {source.name!r}: Standard Webhooks secrets must be non-empty"
        )
    return key


def signed_bytes(msg_id: str, timestamp: int, raw: bytes) -> bytes:
    """What is signed: the id, the timestamp in decimal, each followed by a dot, then the body."""
    return f"{msg_id}.{timestamp}.".encode("utf-8") + raw


def compute_signature(key: bytes, msg_id: str, timestamp: int, raw: bytes) -> str:
    """Base64 HMAC-SHA256 of :func:`signed_bytes` (without the ``v1,`` prefix)."""
    return base64_text(hmac_sha256(key, signed_bytes(msg_id, timestamp, raw)))


def signing_keys(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC keyed with each secret, decoded and checked once per configuration (``derived``)."""
    keys = tuple(keyed_hmac(secret_key(source, secret)) for secret in source.secrets)
    if not keys:
        raise ConfigurationError(f"source {source.name!r}: Standard Webhooks needs a secret")
    return keys


def read_event_type(document: Mapping[str, object]) -> str:
    """The body's ``type``, or "unknown" without one; a ``type`` that is not text is malformed."""
    value = document.get("type", UNKNOWN_EVENT_TYPE)
    if not isinstance(value, str) or not value:
        raise MalformedPayload("The event's 'type' must be a non-empty string.")
    return value


# -- normalize (step 6) -------------------------------------------------------------------------

EVENT_MAPPING: dict[str, tuple[str, str]] = {
    "payment.pending": (PAYMENT, PENDING),
    "payment.processing": (PAYMENT, PENDING),
    "payment.requires_action": (PAYMENT, REQUIRES_ACTION),
    "payment.authorized": (PAYMENT, AUTHORIZED),
    "payment.succeeded": (PAYMENT, SUCCEEDED),
    "payment.captured": (PAYMENT, SUCCEEDED),
    "payment.failed": (PAYMENT, FAILED),
    "payment.canceled": (PAYMENT, CANCELED),
    "payment.cancelled": (PAYMENT, CANCELED),
    "refund.created": (REFUND, REFUND_PENDING),
    "refund.pending": (REFUND, REFUND_PENDING),
    "refund.succeeded": (REFUND, REFUND_SUCCEEDED),
    "refund.failed": (REFUND, REFUND_FAILED),
    "refund.canceled": (REFUND, REFUND_FAILED),
    "dispute.created": (DISPUTE, DISPUTE_OPEN),
    "dispute.opened": (DISPUTE, DISPUTE_OPEN),
    "dispute.updated": (DISPUTE, DISPUTE_OPEN),
    "dispute.won": (DISPUTE, DISPUTE_WON),
    "dispute.lost": (DISPUTE, DISPUTE_LOST),
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
    if kind == PAYMENT:
        payment_id = _object_id(data, "payment_id", "payment")
        details["amount"] = amount
    else:
        payment_id = fields.optional_text(data, "payment_id")
        if kind == REFUND:
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

class StandardWebhooksProvider:
    """Any sender that follows the Standard Webhooks specification with symmetric (v1) keys."""

    name: str = "standard"

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then the timestamp, then require a JSON object body.

        The timestamp is checked only once a signature matched, so :class:`SignatureExpired`
        always means "authentic but too old or too new" and never hides a forgery.
        """
        keys = derived(source, signing_keys)
        signed = read_headers(headers)
        message = signed_bytes(signed.msg_id, signed.timestamp, raw)
        expected = [base64_text(hmac_sha256_after(key, message)) for key in keys]
        # Compared as canonical base64 text; a non-ASCII value can never match (and compare_digest
        # refuses non-ASCII text).
        candidates = [value for value in signed.signatures if value.isascii()]
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()
        check_timestamp(signed.timestamp, now, source.tolerance_seconds)

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            InboundEvent(signed.msg_id, read_event_type(document), text)  # (id, type, payload)
        ]

    def is_payment_event(self, event_type: str) -> bool:
        """Payments, refunds, disputes and charges, by the event type's first segment."""
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)

    def normalize(self, webhook: WebhookRecord) -> PaymentEvent | None:
        return normalize(webhook)


PROVIDER = StandardWebhooksProvider()
