"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` over ``f"{t}."`` + raw body.

The key is the whole ``whsec_...`` string as UTF-8 (Stripe does not base64-decode it). Several
``v1`` entries appear while Stripe rolls a secret, and ``source.secrets`` may hold several secrets
while we roll ours: any pair that matches passes. ``v0`` is a legacy scheme that stripe-python
ignores too. The SDK is deliberately not imported (cold start); it is used
in the tests to prove this module agrees with it.
"""

from __future__ import annotations

import re

from chalicelib.errors import InvalidSignature
from chalicelib.providers._helpers import KeyedHmac, hmac_sha256, keyed_hmac, require_secrets
from chalicelib.providers.contract import SourceConfig

SIGNATURE_HEADER = "stripe-signature"
SIGNATURE_SCHEME = "v1"

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
