"""Square's tooling: ``x-square-hmacsha256-signature`` signer, samples, local key and URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from chalicelib.providers.square.signature import NOTIFICATION_URL_OPTION
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
from providers_tooling.samples import BuiltEvent
from providers_tooling.square import samples

TEST_KEY = "square-test-signature-key"
TEST_NOTIFICATION_URL = "https://hooks.example.com/webhook/square"


def signed_headers(body: bytes, signature_key: str, notification_url: str) -> dict[str, str]:
    """base64(HMAC-SHA256(key, notification URL + body)): the URL as registered with Square."""
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return {**JSON_HEADERS, "x-square-hmacsha256-signature": base64.b64encode(digest).decode()}


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    url = str(material.source.get(NOTIFICATION_URL_OPTION, ""))
    if not url:
        raise CannotSign("the square source has no notificationUrl configured")
    body = compact_body(event.document)
    return Delivery(body, signed_headers(body, material.secret, url))


def local_source(secret: str, stack: LocalStack) -> dict[str, Any]:
    return {"secrets": [secret], NOTIFICATION_URL_OPTION: stack.square_notification_url}


TOOLING = ProviderTooling(
    name="square",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret("SQUARE_SIGNATURE_KEY", lambda: secrets.token_urlsafe(16), "subscription signature key"),
    test_source={"secrets": [TEST_KEY], NOTIFICATION_URL_OPTION: TEST_NOTIFICATION_URL},
    leak_patterns=(),  # base64 signatures have no shape of their own; the test key is checked by value
    lifecycle=("payment.created", "payment.updated", "refund.created", "refund.updated",
               "dispute.created", "dispute.state.updated"),
    local_source=local_source,
    new_payment_samples=("payment.updated", "refund.created", "payment.created"),
)
