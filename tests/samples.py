"""Test sources, their secrets, and correctly signed deliveries for each provider."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ops import signing

STRIPE_SECRET = "whsec_test_stripe_0123456789abcdef"
SQUARE_KEY = "square-test-signature-key"
SQUARE_URL = "https://hooks.example.com/webhook/square"
ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

SOURCES: dict[str, Any] = {
    "stripe": {"secrets": [STRIPE_SECRET]},
    "stripe-eu": {"provider": "stripe", "secrets": ["whsec_other_account"]},
    "square": {"secrets": [SQUARE_KEY], "notificationUrl": SQUARE_URL},
    "adyen": {"secrets": [ADYEN_KEY]},
    "standard": {"secrets": [STANDARD_SECRET]},
}


def stripe_event(event_type: str = "payment_intent.succeeded", event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {
            "object": {
                "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                "object": "payment_intent",
                "amount": 2000,
                "currency": "usd",
                "status": "succeeded",
            }
        },
    }


def stripe_delivery(event: dict[str, Any], secret: str = STRIPE_SECRET, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, signing.stripe_headers(body, secret, timestamp or int(time.time()))


def square_delivery(event_type: str = "payment.updated", event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    event = {
        "merchant_id": "6SSW7HV8K2ST5",
        "type": event_type,
        "event_id": event_id or str(uuid.uuid4()),
        "created_at": "2024-02-15T12:00:00.000Z",
        "data": {
            "type": "payment",
            "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
            "object": {"payment": {"id": "KkAkhdMsgzn59SM8A89WgKwekxLZY", "status": "COMPLETED",
                                   "amount_money": {"amount": 100, "currency": "USD"}}},
        },
    }
    body = json.dumps(event).encode()
    return body, signing.square_headers(body, SQUARE_KEY, SQUARE_URL)


def adyen_item(psp: str, event_code: str = "AUTHORISATION", success: str = "true", original: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {
        "eventCode": event_code,
        "success": success,
        "eventDate": "2024-02-15T12:00:00+01:00",
        "merchantAccountCode": "TestMerchantECOM",
        "pspReference": psp,
        "merchantReference": "order-1234",
        "amount": {"value": 1000, "currency": "EUR"},
        "paymentMethod": "visa",
        "reason": "",
        "additionalData": {},
    }
    if original:
        item["originalReference"] = original
    return {"NotificationRequestItem": item}


def adyen_delivery(*items: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    notification = {"live": "false", "notificationItems": list(items)}
    return signing.adyen_signed_body(notification, ADYEN_KEY), dict(signing.JSON)


def standard_delivery(event_type: str = "payment.succeeded", msg_id: str | None = None, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": event_type, "timestamp": "2024-02-15T12:00:00Z",
                       "data": {"payment_id": "pay_123", "amount": 1500, "currency": "USD"}}).encode()
    return body, signing.standard_headers(body, STANDARD_SECRET, msg_id or f"msg_{uuid.uuid4().hex}", timestamp or int(time.time()))


def now() -> int:
    return int(time.time())
