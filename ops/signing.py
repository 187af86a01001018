"""Sign deliveries exactly as each provider does, for the sample sender and the tests.

Each signer returns the headers to send with ``body``; Adyen's signatures go inside the body, so
its signer returns a new body instead. These mirror PROVIDERS.md and are cross-checked against
the providers' official libraries in the unit tests.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import zlib
from typing import Any

JSON = {"Content-Type": "application/json"}
ADYEN_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def stripe_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {**JSON, "Stripe-Signature": f"t={timestamp},v1={digest}"}


def square_headers(body: bytes, signature_key: str, notification_url: str) -> dict[str, str]:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return {**JSON, "x-square-hmacsha256-signature": base64.b64encode(digest).decode()}


def standard_headers(body: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        **JSON,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def adyen_item_signature(item: dict[str, Any], hex_key: str) -> str:
    amount = item.get("amount") or {}
    values = {**item, "value": amount.get("value", ""), "currency": amount.get("currency", "")}
    message = ":".join(str(values.get(field, "")) for field in ADYEN_SIGNED_FIELDS)
    digest = hmac.new(bytes.fromhex(hex_key), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def adyen_signed_body(notification: dict[str, Any], hex_key: str) -> bytes:
    """The notification with every item's ``additionalData.hmacSignature`` set."""
    signed = copy.deepcopy(notification)
    for wrapper in signed["notificationItems"]:
        item = wrapper["NotificationRequestItem"]
        item.setdefault("additionalData", {})["hmacSignature"] = adyen_item_signature(item, hex_key)
    return json.dumps(signed).encode()


def paypal_headers(
    body: bytes,
    private_key_pem: bytes,
    cert_url: str,
    webhook_id: str,
    transmission_id: str,
    transmission_time: str,
) -> dict[str, str]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}"
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return {
        **JSON,
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": transmission_time,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
