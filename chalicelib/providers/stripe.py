"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` over ``f"{t}."`` + raw body.

The key is the whole ``whsec_...`` string as UTF-8 (Stripe does not base64-decode it). Several
``v1`` entries appear while Stripe rolls a secret, and ``source.secrets`` may hold several secrets
while we roll ours: any pair that matches passes. ``v0`` is a legacy scheme that stripe-python
ignores too. The SDK is deliberately not imported (cold start); it is used
in the tests to prove this module agrees with it.

Options: none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers.base import (
    InboundEvent,
    SourceConfig,
    any_digest_matches,
    check_timestamp,
    parse_json_object,
    required_string,
    require_header,
)

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
    mac = hmac.new(secret.encode("utf-8"), signed_bytes(timestamp, raw), hashlib.sha256)
    return mac.hexdigest()


def require_secrets(source: SourceConfig) -> tuple[str, ...]:
    """The source's secrets; a blank one would let anyone sign, so it is a configuration error."""
    if not source.secrets or not all(secret.strip() for secret in source.secrets):
        raise ConfigurationError(f"source {source.name!r}: Stripe secrets must be non-empty")
    return source.secrets


def decode_text(raw: bytes) -> str:
    """The body as UTF-8 text, kept verbatim for replay (a leading BOM would not re-parse)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("The body is not UTF-8 text.") from exc
    if text.startswith("\ufeff"):
        raise MalformedPayload("The body must not start with a byte order mark.")
    return text


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
        secrets = require_secrets(source)
        timestamp, received = parse_signature_header(require_header(headers, SIGNATURE_HEADER))
        expected = [compute_signature(secret, timestamp, raw).encode("ascii") for secret in secrets]
        # A hex digest is ASCII: any other value can never match and is not worth encoding.
        candidates = [value.encode("ascii") for value in received if value.isascii()]
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()
        check_timestamp(timestamp, now, source.tolerance_seconds)

        text = decode_text(raw)
        document = parse_json_object(raw)
        return [
            InboundEvent(
                event_id=required_string(document, "id"),
                event_type=required_string(document, "type"),
                payload=text,
            )
        ]

    def is_payment_event(self, event_type: str) -> bool:
        """PaymentIntents, charges (refunds and disputes included) and refunds."""
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)


PROVIDER = StripeProvider()
