"""Turn a sample event into the exact HTTP request its provider would send, and send it.

Signing reuses :mod:`ops.signing` (cross-checked against the providers' own libraries in the unit
tests). What a signer needs comes from the stage's source configuration (:class:`SigningMaterial`);
PayPal additionally needs a private key and certificate URL, which exist only for the local stack.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ops import signing
from ops.samples import BuiltEvent

SEND_TIMEOUT_SECONDS = 15


class CannotSign(Exception):
    """The sender lacks what the provider's scheme needs (e.g. PayPal outside the local stack)."""


@dataclass(frozen=True)
class SigningMaterial:
    provider: str
    secret: str
    """The source's first secret: Stripe/Standard secret, Square key, Adyen hex key, PayPal webhook id."""
    notification_url: str = ""
    paypal_key_pem: bytes = b""
    paypal_cert_url: str = ""

    @classmethod
    def from_source(cls, entry: Mapping[str, Any], provider: str, paypal: Mapping[str, Any] | None = None) -> SigningMaterial:
        secrets = entry.get("secrets") or [""]
        material = cls(provider=provider, secret=str(secrets[0]), notification_url=str(entry.get("notificationUrl", "")))
        if provider == "paypal" and paypal:
            material = replace(material, paypal_key_pem=paypal["key_pem"], paypal_cert_url=paypal["cert_url"])
        return material


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


def sign(event: BuiltEvent, material: SigningMaterial, now: float | None = None) -> Delivery:
    """The signed request for ``event``, as ``material.provider`` would send it."""
    timestamp = int(now if now is not None else time.time())
    document = event.document
    if material.provider == "adyen":
        return Delivery(signing.adyen_signed_body(document, material.secret), dict(signing.JSON))
    body = json.dumps(document, separators=(",", ":")).encode()
    if material.provider == "stripe":
        return Delivery(body, signing.stripe_headers(body, material.secret, timestamp))
    if material.provider == "square":
        if not material.notification_url:
            raise CannotSign("the square source has no notificationUrl configured")
        return Delivery(body, signing.square_headers(body, material.secret, material.notification_url))
    if material.provider == "standard":
        return Delivery(body, signing.standard_headers(body, material.secret, event.event_id, timestamp))
    if material.provider == "paypal":
        if not material.paypal_key_pem or not material.paypal_cert_url:
            raise CannotSign("PayPal deliveries can only be signed for the local stack (PayPal holds the key)")
        transmission_time = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = signing.paypal_headers(
            body, material.paypal_key_pem, material.paypal_cert_url, material.secret,
            transmission_id=str(uuid.uuid1()), transmission_time=transmission_time,
        )
        return Delivery(body, headers)
    raise CannotSign(f"no signer for provider {material.provider!r}")


def _bump(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value + 100
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        whole, _, fraction = value.partition(".")
        return f"{int(whole) + 1}{'.' + fraction if fraction else ''}"
    return None


def _raise_first_amount(node: Any) -> bool:
    """Raise the first money amount found (depth first) in place; False when there is none."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("amount", "value"):
                bumped = _bump(value)
                if bumped is not None:
                    node[key] = bumped
                    return True
            if _raise_first_amount(value):
                return True
    elif isinstance(node, list):
        return any(_raise_first_amount(item) for item in node)
    return False


def tamper(delivery: Delivery) -> Delivery:
    """The delivery with its amount raised after signing: what an attacker in the middle would do.

    For Adyen the amount is one of the eight signed fields, so this breaks every provider's
    signature; the headers (and Adyen's in-body signatures) are kept as they were.
    """
    document = json.loads(delivery.body)
    if not _raise_first_amount(document):
        return Delivery(delivery.body + b" ", dict(delivery.headers))
    separators = (", ", ": ") if b'", "' in delivery.body else (",", ":")
    return Delivery(json.dumps(document, separators=separators).encode(), dict(delivery.headers))


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str]

    @property
    def webhook_ids(self) -> list[str]:
        ids = self.headers.get("x-webhook-ids")
        if ids:
            return [value for value in ids.split(",") if value]
        try:
            document = json.loads(self.body)
        except ValueError:
            return []
        webhook_id = document.get("webhookId") if isinstance(document, dict) else None
        return [webhook_id] if isinstance(webhook_id, str) else []

    @property
    def outcome(self) -> str:
        """``accepted``/``duplicate`` for a 2xx, else the error code (or the status text)."""
        try:
            document = json.loads(self.body)
        except ValueError:
            return "accepted" if self.body.strip() == "[accepted]" else f"http {self.status}"
        if isinstance(document, dict):
            return str(document.get("status") or document.get("error") or f"http {self.status}")
        return f"http {self.status}"


class SendFailed(Exception):
    """The endpoint could not be reached at all."""


def post(url: str, delivery: Delivery) -> Answer:
    """POST the delivery; any HTTP answer is returned (a 401 is an answer, not an error)."""
    loopback = url.startswith(("http://127.", "http://localhost", "http://[::1]"))
    handlers = [urllib.request.ProxyHandler({})] if loopback else []
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")
    try:
        with opener.open(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            return Answer(response.status, response.read().decode("utf-8", "replace"),
                          {k.lower(): v for k, v in response.headers.items()})
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.read().decode("utf-8", "replace"),
                          {k.lower(): v for k, v in error.headers.items()})
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendFailed(f"could not reach {url}: {reason}") from None
