"""Test sources, their secrets, and correctly signed deliveries for each provider.

Every registered provider's test source comes from its tooling half (``providers_tooling/<name>``),
so a new provider is in the tests' stack without an edit here. The events themselves come from
the ``ops send`` sample catalog, so the tests exercise the same realistic payloads a developer
sends to the local stack.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ops import samples as catalog
from ops.delivery import Delivery, SigningMaterial, sign
from providers_tooling import adyen, all_tooling, square, standard, stripe
from providers_tooling.adyen.samples import adyen_notification_item
from providers_tooling.contract import JSON_HEADERS

STRIPE_SECRET = stripe.TEST_SECRET
SQUARE_KEY = square.TEST_KEY
SQUARE_URL = square.TEST_NOTIFICATION_URL
ADYEN_KEY = adyen.TEST_KEY
STANDARD_SECRET = standard.TEST_SECRET

# Each provider as a source of its own name, plus a second Stripe account.
SOURCES: dict[str, Any] = {
    **{tooling.name: dict(tooling.test_source) for tooling in all_tooling() if tooling.test_source is not None},
    "stripe-eu": {"provider": "stripe", "secrets": ["whsec_other_account"]},
}


STRIPE_PAYMENT_ID = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
SQUARE_PAYMENT_ID = "KkAkhdMsgzn59SM8A89WgKwekxLZY"
STANDARD_PAYMENT_ID = "pay_123"


def _catalog_event(provider: str, event_type: str, fallback: str, options: catalog.SampleOptions) -> dict[str, Any]:
    """The ops sample of that type; a type the catalog lacks gets the fallback's envelope."""
    if event_type in catalog.CATALOG[provider]:
        return catalog.build(provider, event_type, options).document
    document = catalog.build(provider, fallback, options).document
    document["type"] = event_type
    return document


def stripe_event(event_type: str = "payment_intent.succeeded", event_id: str | None = None) -> dict[str, Any]:
    options = catalog.SampleOptions(payment_id=STRIPE_PAYMENT_ID, amount=2000, currency="USD",
                                    event_id=event_id or f"evt_{uuid.uuid4().hex[:24]}")
    return _catalog_event("stripe", event_type, "customer.created", options)


def stripe_delivery(
    event: dict[str, Any], secret: str = STRIPE_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, stripe.signed_headers(body, secret, timestamp or int(time.time()))


def square_delivery(event_type: str = "payment.updated", event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    options = catalog.SampleOptions(payment_id=SQUARE_PAYMENT_ID, amount=100, currency="USD",
                                    event_id=event_id or str(uuid.uuid4()))
    body = json.dumps(_catalog_event("square", event_type, "payment.updated", options)).encode()
    return body, square.signed_headers(body, SQUARE_KEY, SQUARE_URL)


def adyen_item(
    psp: str, event_code: str = "AUTHORISATION", success: str = "true", original: str = ""
) -> dict[str, Any]:
    return adyen_notification_item(
        event_code, psp, success=success == "true", original_reference=original or None, amount=1000,
        currency="EUR", merchant_reference="order-1234", event_date="2024-02-15T12:00:00+01:00",
    )


def adyen_delivery(*items: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    notification = {"live": "false", "notificationItems": list(items)}
    return adyen.signed_body(notification, ADYEN_KEY), dict(JSON_HEADERS)


def standard_delivery(
    event_type: str = "payment.succeeded", msg_id: str | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    options = catalog.SampleOptions(payment_id=STANDARD_PAYMENT_ID, amount=1500, currency="USD", event_id=msg_id)
    body = json.dumps(_catalog_event("standard", event_type, "payment.succeeded", options)).encode()
    return body, standard.signed_headers(body, STANDARD_SECRET, msg_id, timestamp or int(time.time()))


def signed_sample(
    source: str, sample: str, options: catalog.SampleOptions | None = None, timestamp: int | None = None
) -> tuple[catalog.BuiltEvent, Delivery]:
    """A catalog sample of ``source``'s provider, signed with the test source's secret."""
    entry = SOURCES[source]
    provider = str(entry.get("provider", source))
    built = catalog.build(provider, sample, options)
    return built, sign(built, SigningMaterial.from_source(entry, provider), timestamp or now())


def now() -> int:
    return int(time.time())
