"""PayPal webhooks: an RSA signature made with PayPal's message-verification certificate.

Headers (lower-case here): ``paypal-transmission-id``, ``paypal-transmission-time`` (used
verbatim), ``paypal-transmission-sig`` (base64), ``paypal-cert-url`` and ``paypal-auth-algo``
(must be ``SHA256withRSA``). The signed message is::

    f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(raw) & 0xFFFFFFFF}"

where ``webhook_id`` is *our* webhook subscription id: each value of ``SourceConfig.secrets``
(several while one is being rotated; any match passes). The signature is RSASSA-PKCS1-v1_5 with
SHA-256 under the public key of the certificate at ``paypal-cert-url``, which is checked,
fetched, validated and cached by :mod:`.policy`, :mod:`.fetch` and :mod:`.chain` (allow-listed
hosts only, chain to a trusted root, validity dates as of ``now``, PayPal's message-verification
subject). A certificate that cannot be fetched right now raises
:class:`~chalicelib.errors.DependencyUnavailable` (503, PayPal retries); every other failure is
:class:`~chalicelib.errors.InvalidSignature` (an expired certificate included).

The body is bound to the signature only through its CRC32, which is not a cryptographic hash:
another body with the same CRC32 verifies under the genuine headers (tests/attacks/crc32_forge.py
builds one). So a verified signature is not enough on its own: :mod:`.window` refuses transmission
times outside the source's ``toleranceSeconds`` (4 days by default, to admit PayPal's 25 retries
over 3 days, which PayPal does not document as re-signed), and each event carries its
``paypal-transmission-id`` (``InboundEvent.transmission_id``) so that ingest admits one body per
transmission.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import TYPE_CHECKING

from chalicelib.errors import InvalidSignature

if TYPE_CHECKING:  # pragma: no cover
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

TRANSMISSION_ID = "paypal-transmission-id"
TRANSMISSION_TIME = "paypal-transmission-time"
TRANSMISSION_SIG = "paypal-transmission-sig"
CERT_URL = "paypal-cert-url"
AUTH_ALGO = "paypal-auth-algo"
SUPPORTED_AUTH_ALGO = "SHA256withRSA"

# PayPal signs with RSA-2048 (a 256-byte signature); keys of 2048 to 4096 bits are accepted, so a
# signature outside 256..512 bytes cannot verify and is refused before any certificate fetch.
_MIN_SIGNATURE_BYTES = 256
_MAX_SIGNATURE_BYTES = 512
_MAX_SIGNATURE_CHARS = 2048


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, raw: bytes
) -> bytes:
    """The exact bytes PayPal signs for one webhook id (CRC32 as an unsigned decimal)."""
    crc = zlib.crc32(raw) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def decode_signature(value: str) -> bytes:
    """The base64 signature as bytes; a garbled or implausibly sized one is refused here, before
    any certificate fetch."""
    if len(value) > _MAX_SIGNATURE_CHARS:
        raise InvalidSignature()
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature() from None
    if not _MIN_SIGNATURE_BYTES <= len(signature) <= _MAX_SIGNATURE_BYTES:
        raise InvalidSignature()
    return signature

def verify_rsa_sha256(public_key: RSAPublicKey, signature: bytes, message: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256: whether ``signature`` signs ``message``."""
    from cryptography.exceptions import InvalidSignature as BadSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except BadSignature:
        return False
    return True
