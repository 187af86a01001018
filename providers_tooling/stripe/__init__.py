"""Stripe's tooling: ``Stripe-Signature`` signer, samples, local secret, test secret, leak shapes."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from typing import Any

from providers_tooling.contract import (
    JSON_HEADERS,
    Delivery,
    LocalSecret,
    LocalStack,
    ProviderTooling,
    SigningMaterial,
    compact_body,
)
from providers_tooling.samples import BuiltEvent
from providers_tooling.stripe import samples

TEST_SECRET = "whsec_test_stripe_0123456789abcdef"


def signed_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of f"{t}." + body>`` (key: the whole secret)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {**JSON_HEADERS, "Stripe-Signature": f"t={timestamp},v1={digest}"}


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    body = compact_body(event.document)
    return Delivery(body, signed_headers(body, material.secret, timestamp))


API_KEY_VARIABLE = "STRIPE_API_KEY"
API_BASE_VARIABLE = "STRIPE_API_BASE"


def local_source(secret: str, stack: LocalStack, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The local ``stripe`` source: with ``STRIPE_API_KEY`` (a test-mode restricted key, or any key
    localstripe accepts) it gets API credentials, and the local stack's reconciler lists its events
    at ``STRIPE_API_BASE`` (default: Stripe's API). The key goes into the local stage's sources
    secret only: never to ``.local/``, never printed."""
    environ = os.environ if environ is None else environ
    entry: dict[str, Any] = {"secrets": [secret]}
    key = environ.get(API_KEY_VARIABLE, "").strip()
    if key:
        entry["api"] = {"key": key}
        base = environ.get(API_BASE_VARIABLE, "").strip()
        if base:
            entry["api"]["baseUrl"] = base
    return entry


TOOLING = ProviderTooling(
    name="stripe",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret(
        "STRIPE_WEBHOOK_SECRET", lambda: "whsec_" + secrets.token_hex(24), "endpoint signing secret (whsec_...)"
    ),
    test_source={"secrets": [TEST_SECRET]},
    leak_patterns=(
        re.compile(r"whsec_[A-Za-z0-9+/=_]{8,}"),  # a Stripe (or Standard Webhooks) secret
        re.compile(r"v1=[0-9a-f]{64}"),  # a Stripe signature
    ),
    lifecycle=("payment_intent.created", "payment_intent.processing", "payment_intent.succeeded",
               "charge.refunded", "charge.dispute.created", "charge.dispute.closed"),
    new_payment_samples=("payment_intent.succeeded", "charge.refunded", "payment_intent.created"),
    local_source=local_source,
)
