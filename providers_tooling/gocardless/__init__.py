"""GoCardless's tooling: ``Webhook-Signature`` signer, samples, local secret, test secret."""

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
from providers_tooling.gocardless import samples
from providers_tooling.samples import BuiltEvent

TEST_SECRET = "gocardless-test-endpoint-secret-0123456789"


def signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """``Webhook-Signature``: hex HMAC-SHA256 of the body, keyed with the endpoint secret."""
    return {**JSON_HEADERS, "Webhook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    body = compact_body(event.document)
    return Delivery(body, signed_headers(body, material.secret))


TOOLING = ProviderTooling(
    name="gocardless",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret(
        "GOCARDLESS_WEBHOOK_SECRET", lambda: secrets.token_urlsafe(30), "webhook endpoint secret"
    ),
    test_source={"secrets": [TEST_SECRET]},
    leak_patterns=(),  # hex signatures have no shape of their own; the test secret is checked by value
    # No amounts in GoCardless events: the life cycle shows statuses (and a lost chargeback).
    lifecycle=("payments.created", "payments.submitted", "payments.confirmed", "payments.paid_out",
               "payments.charged_back"),
    new_payment_samples=("payments.confirmed", "refunds.paid", "payments.created"),
)
