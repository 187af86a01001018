"""Razorpay's tooling: ``X-Razorpay-Signature`` signer, samples, local secret, test secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from providers_tooling.contract import (
    JSON_HEADERS,
    Delivery,
    LocalSecret,
    ProviderTooling,
    SigningMaterial,
    compact_body,
)
from providers_tooling.razorpay import samples
from providers_tooling.samples import BuiltEvent

TEST_SECRET = "razorpay-test-webhook-secret-0123456789"


def signed_headers(body: bytes, secret: str, event_id: str) -> dict[str, str]:
    """``X-Razorpay-Signature``: hex HMAC-SHA256 of the body; the event id in its own header."""
    return {
        **JSON_HEADERS,
        "X-Razorpay-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Razorpay-Event-Id": event_id,
    }


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    body = compact_body(event.document)
    return Delivery(body, signed_headers(body, material.secret, event.event_id))


TOOLING = ProviderTooling(
    name="razorpay",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret("RAZORPAY_WEBHOOK_SECRET", lambda: secrets.token_urlsafe(24), "webhook secret"),
    test_source={"secrets": [TEST_SECRET]},
    leak_patterns=(),  # hex signatures have no shape of their own; the test secret is checked by value
    lifecycle=("payment.authorized", "payment.captured", "refund.created", "refund.processed",
               "payment.dispute.created", "payment.dispute.won"),
    new_payment_samples=("payment.captured", "refund.processed", "payment.authorized"),
)
