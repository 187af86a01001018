"""Square: ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(key, notification URL + body)).

The notification URL is part of what is signed and must be the one registered in Square's
dashboard byte for byte. Behind API Gateway the URL the Lambda sees is not that one (stage paths,
custom domains), so it is configuration, never rebuilt from the request. The older
``x-square-signature`` header is HMAC-SHA1 and is not accepted: a delivery carrying only that one
is missing the header we require. The scheme signs no header time: replays are stopped by
deduplicating on ``event_id`` while the record lives, and beyond it by the signed body's
``created_at`` (``InboundEvent.signed_created_at``: ingest refuses events older than the records'
retention).
"""

from __future__ import annotations

from chalicelib.errors import ConfigurationError
from chalicelib.providers._helpers import (
    KeyedHmac,
    base64_text,
    hmac_sha256,
    keyed_hmac,
    require_secrets,
)
from chalicelib.providers.contract import SourceConfig

SIGNATURE_HEADER = "x-square-hmacsha256-signature"
NOTIFICATION_URL_OPTION = "notificationUrl"


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
