"""GoCardless: ``Webhook-Signature`` = hex(HMAC-SHA256(endpoint secret as UTF-8, raw body)).

The whole body is signed and nothing else: no header carries a time, so an old delivery replayed
verbatim verifies. Deduplicating on each event's ``id`` (stable across GoCardless's retries) is the
replay guard while its record lives; each event's signed ``created_at`` bounds its age beyond that
(``InboundEvent.signed_created_at``: ingest refuses events older than the records' retention).
The hex digest is compared as sent, in constant time, as ``gocardless_pro.webhooks`` does.
Several secrets may be configured while one is rotated; any match passes.

One delivery carries several events (``{"events": [...], "meta": {"webhook_id": "WB..."}}``):
like Adyen's notification items each is stored and deduplicated on its own, under its ``id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.errors import MalformedPayload
from chalicelib.providers._helpers import (
    KeyedHmac,
    hmac_sha256,
    keyed_hmac,
    require_secrets,
    required_string,
)
from chalicelib.providers.contract import SourceConfig

SIGNATURE_HEADER = "webhook-signature"


def compute_signature(secret: str, raw: bytes) -> str:
    """Hex HMAC-SHA256 of the body exactly as sent, keyed with the secret's UTF-8 bytes."""
    return hmac_sha256(secret.encode("utf-8"), raw).hex()


def signing_keys(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC keyed with each secret, checked and made once per configuration (``derived``)."""
    return tuple(
        keyed_hmac(secret.encode("utf-8")) for secret in require_secrets(source, "GoCardless secrets")
    )


EVENTS_KEY = "events"


def delivery_events(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``events`` of a delivery; none, or one that is not an object, is malformed."""
    events = document.get(EVENTS_KEY)
    if not isinstance(events, list) or not events:
        raise MalformedPayload("The body has no events.")
    if not all(isinstance(event, dict) for event in events):
        raise MalformedPayload("Each event must be an object.")
    return events


def event_type(event: Mapping[str, Any]) -> str:
    """``<resource_type>.<action>``, e.g. ``payments.confirmed``: both are required."""
    return f"{required_string(event, 'resource_type')}.{required_string(event, 'action')}"
