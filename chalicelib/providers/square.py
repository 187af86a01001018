"""Square: ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key, notification URL + body)).

The notification URL is part of what is signed and must be the one registered in Square's
dashboard byte for byte. Behind API Gateway the URL the Lambda sees is not that one (stage paths,
custom domains), so it is configuration, never rebuilt from the request. The older
``x-square-signature`` header is HMAC-SHA1 and is not accepted: a delivery carrying only that one
is missing the header we require. The scheme has no timestamp, so replays are stopped by
deduplicating on ``event_id``.

Options: ``notificationUrl`` (required), the subscription's notification URL exactly as
registered with Square.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers.base import (
    InboundEvent,
    SourceConfig,
    any_digest_matches,
    parse_json_object,
    required_string,
    require_header,
)

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


def require_secrets(source: SourceConfig) -> tuple[str, ...]:
    """The signature keys; a blank one would let anyone sign, so it is a configuration error."""
    if not source.secrets or not all(secret.strip() for secret in source.secrets):
        raise ConfigurationError(f"source {source.name!r}: Square signature keys must be non-empty")
    return source.secrets


def compute_signature(signature_key: str, url: str, raw: bytes) -> str:
    """Base64 HMAC-SHA256 of the URL's UTF-8 bytes followed by the body exactly as sent."""
    digest = hmac.new(
        signature_key.encode("utf-8"), url.encode("utf-8") + raw, hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def decode_text(raw: bytes) -> str:
    """The body as UTF-8 text, kept verbatim for replay (a leading BOM would not re-parse)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("The body is not UTF-8 text.") from exc
    if text.startswith("\ufeff"):
        raise MalformedPayload("The body must not start with a byte order mark.")
    return text


class SquareProvider:
    """Square webhook subscriptions."""

    name: str = "square"

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body against every configured key, then read ``event_id`` and ``type``.

        ``now`` is unused: Square's scheme carries no timestamp.
        """
        url = notification_url(source)
        secrets = require_secrets(source)
        received = require_header(headers, SIGNATURE_HEADER)
        expected = [compute_signature(secret, url, raw).encode("ascii") for secret in secrets]
        # Compared as base64 text, like Square's SDK; a non-ASCII value can never match.
        candidates = [received.encode("ascii")] if received.isascii() else []
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()

        text = decode_text(raw)
        document = parse_json_object(raw)
        return [
            InboundEvent(
                event_id=required_string(document, "event_id"),
                event_type=required_string(document, "type"),
                payload=text,
            )
        ]

    def is_payment_event(self, event_type: str) -> bool:
        """Payments, refunds and disputes."""
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)


PROVIDER = SquareProvider()
