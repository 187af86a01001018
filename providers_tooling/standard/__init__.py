"""Standard Webhooks' tooling: ``webhook-*`` header signer, samples, local secret, leak shapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from providers_tooling.contract import (
    JSON_HEADERS,
    Delivery,
    LocalSecret,
    ProviderTooling,
    SigningMaterial,
    compact_body,
)
from providers_tooling.samples import BuiltEvent
from providers_tooling.standard import samples

TEST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def signed_headers(body: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    """``webhook-signature: v1,<base64 HMAC-SHA256 of f"{id}.{timestamp}." + body>`` (key: base64
    after ``whsec_``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        **JSON_HEADERS,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    body = compact_body(event.document)
    return Delivery(body, signed_headers(body, material.secret, event.event_id, timestamp))


def _local_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


TOOLING = ProviderTooling(
    name="standard",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret("STANDARD_WEBHOOK_SECRET", _local_secret, "endpoint secret (whsec_<base64>)"),
    test_source={"secrets": [TEST_SECRET]},
    leak_patterns=(
        re.compile(r"whsec_[A-Za-z0-9+/=_]{8,}"),  # a Standard Webhooks (or Stripe) secret
        re.compile(r"v1,[A-Za-z0-9+/]{43}="),  # a Standard Webhooks signature
    ),
    lifecycle=("payment.succeeded", "refund.succeeded", "dispute.created"),
    new_payment_samples=("payment.succeeded", "refund.succeeded", "payment.failed"),
)
