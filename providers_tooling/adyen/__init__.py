"""Adyen's tooling: the in-body ``hmacSignature`` signer, samples, local HMAC key, leak shape."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from providers_tooling.adyen import samples
from providers_tooling.contract import JSON_HEADERS, Delivery, LocalSecret, ProviderTooling, SigningMaterial
from providers_tooling.samples import BuiltEvent

TEST_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def item_signature(item: dict[str, Any], hex_key: str) -> str:
    """base64(HMAC-SHA256(hex key, the eight signed fields joined with ':'))."""
    amount = item.get("amount") or {}
    values = {**item, "value": amount.get("value", ""), "currency": amount.get("currency", "")}
    message = ":".join(str(values.get(field, "")) for field in SIGNED_FIELDS)
    digest = hmac.new(bytes.fromhex(hex_key), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_body(notification: dict[str, Any], hex_key: str) -> bytes:
    """The notification with every item's ``additionalData.hmacSignature`` set."""
    signed = copy.deepcopy(notification)
    for wrapper in signed["notificationItems"]:
        item = wrapper["NotificationRequestItem"]
        item.setdefault("additionalData", {})["hmacSignature"] = item_signature(item, hex_key)
    return json.dumps(signed).encode()


def sign(event: BuiltEvent, material: SigningMaterial, timestamp: int) -> Delivery:
    # The signatures travel inside the body: the signer returns a new body, plain JSON headers.
    return Delivery(signed_body(event.document, material.secret), dict(JSON_HEADERS))


TOOLING = ProviderTooling(
    name="adyen",
    samples=tuple(samples.SAMPLES),
    new_payment_id=samples.new_payment_id,
    sign=sign,
    local_secret=LocalSecret("ADYEN_HMAC_KEY", lambda: secrets.token_hex(32).upper(), "HMAC key (hex)"),
    test_source={"secrets": [TEST_KEY]},
    leak_patterns=(re.compile(r"hmacSignature"),),  # an Adyen item (its signature travels inside)
    lifecycle=("AUTHORISATION", "CAPTURE", "REFUND", "CHARGEBACK"),
    new_payment_samples=("AUTHORISATION", "CAPTURE", "REFUND"),
)
