"""Standard Webhooks (Svix and others): headers ``webhook-id``, ``-timestamp`` and ``-signature``.

The signature header holds space-separated ``v1,<base64>`` entries: base64(HMAC-SHA256(key,
f"{id}.{timestamp}." + body)). The key is the base64 decoding of the secret after its ``whsec_``
prefix (unlike Stripe, which uses the text itself). ``v1a,`` (ed25519) and unknown versions are
ignored. Svix sends the same headers as ``svix-*``; those are read only when no ``webhook-*``
header is present, so the id, timestamp and signature always come from one family.

The event id is the ``webhook-id`` header: it is stable across retries and signed, while the
body need not carry an id at all.

    {"type": "refund.succeeded", "timestamp": "2024-02-15T12:00:00Z",
     "data": {"object": "refund", "id": "re_1", "payment_id": "pay_123",
              "amount": 1500, "currency": "USD"}}

``type`` is ``payment.<status>``, ``refund.<status>`` or ``dispute.<status>`` (the table below).
``data.object`` names what ``data.id`` identifies; ``data.payment_id`` names the payment (for a
payment object it defaults to ``data.id``); ``data.refund_id`` and ``data.dispute_id`` may name
the refund and the dispute explicitly instead. ``data.amount`` is an integer in ISO 4217 minor
units or a decimal string in major units (``"15.00"``): the payment's amount for payment events,
the refund's for refund events. ``timestamp`` is the event time (the receive time when absent).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers._helpers import (
    KeyedHmac,
    base64_text,
    hmac_sha256,
    keyed_hmac,
    require_header,
)
from chalicelib.providers.contract import SourceConfig

HEADER_FAMILIES = ("webhook", "svix")
# Each family's (id, timestamp, signature) header names, spelled out once rather than formatted
# on every delivery.
HEADER_NAMES: dict[str, tuple[str, str, str]] = {
    family: (f"{family}-id", f"{family}-timestamp", f"{family}-signature") for family in HEADER_FAMILIES
}
SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
UNKNOWN_EVENT_TYPE = "unknown"

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
    return f"{msg_id}.{timestamp}.".encode() + raw


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
