"""PayPal's tooling: an RSA signer for the local stack's certificate, samples, local webhook id.

PayPal holds the private key of its real certificates, so deliveries can only be signed for the
local stack, whose CA and signing certificate devstack/pki.py makes (``SigningMaterial.local``
carries ``key_pem`` and ``cert_url``).
"""

from __future__ import annotations

import base64
import secrets
import string
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

from providers_tooling.contract import (
    JSON_HEADERS,
    CannotSign,
    Delivery,
    LocalSecret,
    LocalStack,
    ProviderTooling,
    SigningMaterial,
    compact_body,
)
from providers_tooling.paypal import samples
from providers_tooling.samples import BuiltEvent

LOOPBACK_CERT_HOST = "127.0.0.1"


def signed_headers(
    body: bytes,
    private_key_pem: bytes,
    cert_url: str,
    webhook_id: str,
    transmission_id: str,
    transmission_time: str,
) -> dict[str, str]:
    """RSASSA-PKCS1-v1_5/SHA-256 over ``id|time|webhook id|crc32(body)`` and PayPal's headers."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # devstack/pki.py makes an RSA signing key
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}"
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        **JSON_HEADERS,
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": transmission_time,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    key_pem, cert_url = material.local.get("key_pem"), material.local.get("cert_url")
    if not key_pem or not cert_url:
        raise CannotSign("PayPal deliveries can only be signed for the local stack (PayPal holds the key)")
    body = compact_body(event.document)
    transmission_time = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = signed_headers(
        body, key_pem, str(cert_url), material.secret,
        transmission_id=str(uuid.uuid1()), transmission_time=transmission_time,
    )
    return Delivery(body, headers)


def _local_webhook_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(17))


def local_source(secret: str, stack: LocalStack) -> dict[str, Any]:
    from devstack.pki import SUBJECT

    return {
        "secrets": [secret],
        # The local CA and loopback certificate server; see devstack/pki.py.
        "certHosts": [LOOPBACK_CERT_HOST],
        "certSubjects": [SUBJECT],
        "trustRootsPem": stack.pki.ca_pem,
        "allowLoopbackCertHost": True,
    }


TOOLING = ProviderTooling(
    name="paypal",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret("PAYPAL_WEBHOOK_ID", _local_webhook_id, "webhook id"),
    # Not configured in the tests' stack: verifying needs a certificate, which the PayPal tests
    # serve through a fake fetcher on sources of their own (tests/unit/providers/paypal).
    test_source=None,
    leak_patterns=(),  # the local signing key is caught by the generic private-key shape
    lifecycle=("PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED",
               "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED"),
    local_source=local_source,
    new_payment_samples=("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.AUTHORIZATION.CREATED"),
)
