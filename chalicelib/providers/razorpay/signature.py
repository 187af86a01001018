"""Razorpay: ``X-Razorpay-Signature`` = hex(HMAC-SHA256(webhook secret as UTF-8, raw body)).

The event id travels in the ``x-razorpay-event-id`` header (stable across Razorpay's retries),
not in the body. **No header carries a time**, and the id header is not signed either: an old
delivery replayed verbatim verifies, so deduplicating on the event id is the replay guard while
the record lives (beyond it, the signed body's ``created_at`` bounds the event's age), and a
replay under a new id is stored as a new event (the processor's idempotence per payment fact, and
the state machine's joins, keep it from changing a payment twice). The hex digest is compared as
sent, in constant time, as ``razorpay.Utility.verify_webhook_signature`` does. Several secrets may
be configured while one is rotated; any match passes.
"""

from __future__ import annotations

from chalicelib.providers._helpers import KeyedHmac, hmac_sha256, keyed_hmac, require_secrets
from chalicelib.providers.contract import SourceConfig

SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"


def compute_signature(secret: str, raw: bytes) -> str:
    """Hex HMAC-SHA256 of the body exactly as sent, keyed with the secret's UTF-8 bytes."""
    return hmac_sha256(secret.encode("utf-8"), raw).hex()


def signing_keys(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC keyed with each secret, checked and made once per configuration (``derived``)."""
    return tuple(
        keyed_hmac(secret.encode("utf-8")) for secret in require_secrets(source, "Razorpay secrets")
    )
