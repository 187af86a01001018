"""PayPal webhooks: an RSA signature made with PayPal's message-verification certificate.

Headers (lower-case here): ``paypal-transmission-id``, ``paypal-transmission-time`` (used
verbatim), ``paypal-transmission-sig`` (base64), ``paypal-cert-url`` and ``paypal-auth-algo``
(must be ``SHA256withRSA``). The signed message is::

    f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(raw) & 0xFFFFFFFF}"

where ``webhook_id`` is *our* webhook subscription id: each value of ``SourceConfig.secrets``
(several while one is being rotated; any match passes). The signature is RSASSA-PKCS1-v1_5 with
SHA-256 under the public key of the certificate at ``paypal-cert-url``, which is checked,
fetched, validated and cached by :mod:`chalicelib.providers.paypal_certs` (allow-listed hosts
only, chain to a trusted root, validity dates as of ``now``, PayPal's message-verification
subject). A certificate that cannot be fetched right now raises
:class:`~chalicelib.errors.DependencyUnavailable` (503, PayPal retries); every other failure is
:class:`~chalicelib.errors.InvalidSignature` (an expired certificate included).

No tolerance is enforced on ``paypal-transmission-time``: PayPal documents none, does not say
whether a retry is re-signed with a fresh time (it retries up to 25 times over 3 days), and its
only published signed delivery (the 2017 fixture) would otherwise be unverifiable. Replays are
handled by deduplicating on the event ``id``; the certificate's validity dates are checked.

Options (``SourceConfig.options``), all optional:

``certHosts``
    Hosts the certificate URL may use, exact match. Default
    ``["api.paypal.com", "api.sandbox.paypal.com"]``.
``certSubjects``
    Names the leaf certificate must carry exactly (subject CN or DNS SAN). Default
    ``["messageverificationcerts.paypal.com", "messageverificationcerts.sandbox.paypal.com"]``.
``trustRootsPem``
    PEM text of the trust anchors. Default: certifi's bundle (``certifi.where()``).
``intermediatesPem``
    PEM text of extra intermediate certificates (never fetched from AIA URLs).
``allowLoopbackCertHost``
    ``true`` allows a loopback host listed in ``certHosts`` (any port, http or https) only when
    the environment variable ``STAGE`` is ``local``; ignored in every other stage.

``cryptography`` is only imported (by ``paypal_certs``) when a delivery is verified.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers import paypal_certs
from chalicelib.providers.base import (
    InboundEvent,
    SourceConfig,
    parse_json_object,
    require_header,
    required_string,
)

TRANSMISSION_ID = "paypal-transmission-id"
TRANSMISSION_TIME = "paypal-transmission-time"
TRANSMISSION_SIG = "paypal-transmission-sig"
CERT_URL = "paypal-cert-url"
AUTH_ALGO = "paypal-auth-algo"
SUPPORTED_AUTH_ALGO = "SHA256withRSA"

PAYMENT_EVENT_PREFIXES: tuple[str, ...] = (
    "PAYMENT.CAPTURE.",
    "PAYMENT.AUTHORIZATION.",
    "CUSTOMER.DISPUTE.",
    "PAYMENT.SALE.",
    "CHECKOUT.ORDER.",
)

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


def _decode_signature(value: str) -> bytes:
    if len(value) > _MAX_SIGNATURE_CHARS:
        raise InvalidSignature()
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature() from None
    if not _MIN_SIGNATURE_BYTES <= len(signature) <= _MAX_SIGNATURE_BYTES:
        raise InvalidSignature()
    return signature


class PayPalProvider:
    """Verifies PayPal deliveries; ``certificates`` is injectable (tests pass a fake fetcher)."""

    name = "paypal"

    def __init__(self, certificates: paypal_certs.CertificateStore | None = None) -> None:
        self.certificates = (
            certificates if certificates is not None else paypal_certs.DEFAULT_STORE
        )

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        transmission_id = require_header(headers, TRANSMISSION_ID)
        transmission_time = require_header(headers, TRANSMISSION_TIME)
        signature_b64 = require_header(headers, TRANSMISSION_SIG)
        cert_url = require_header(headers, CERT_URL)
        auth_algo = require_header(headers, AUTH_ALGO)
        # No check of transmission_time against source.tolerance_seconds: see the module doc.

        if auth_algo != SUPPORTED_AUTH_ALGO:
            raise InvalidSignature()
        webhook_ids = [webhook_id for webhook_id in source.secrets if webhook_id]
        if not webhook_ids:
            raise ConfigurationError(f"PayPal source '{source.name}' has no webhook id.")
        # Cheap checks first: a garbled signature never causes a certificate fetch.
        signature = _decode_signature(signature_b64)
        policy = paypal_certs.policy_from_options(source.options)

        certificate = self.certificates.certificate(cert_url, policy, now)
        matched = False
        for webhook_id in webhook_ids:  # no early exit: timing does not tell which id matched
            message = signed_message(transmission_id, transmission_time, webhook_id, raw)
            matched |= paypal_certs.verify_rsa_sha256(certificate.public_key, signature, message)
        if not matched:
            raise InvalidSignature()

        try:
            payload = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPayload("The body is not valid UTF-8 JSON.") from None
        document = parse_json_object(raw)
        return [
            InboundEvent(
                event_id=required_string(document, "id"),
                event_type=required_string(document, "event_type"),
                payload=payload,
            )
        ]

    def is_payment_event(self, event_type: str) -> bool:
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)


PROVIDER = PayPalProvider()
