"""Turn a sample event into the exact HTTP request its provider would send, and send it.

Signing is each provider's own (``providers_tooling/<name>``, cross-checked against the providers'
libraries in the unit tests). What a signer needs comes from the stage's source configuration
(:class:`SigningMaterial`); PayPal additionally needs a private key and certificate URL, which
exist only for the local stack.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ops.samples import BuiltEvent
from providers_tooling import tooling
from providers_tooling.contract import CannotSign, Delivery, SigningMaterial

__all__ = ["Answer", "CannotSign", "Delivery", "SendFailed", "SigningMaterial", "post", "sign", "tamper"]

SEND_TIMEOUT_SECONDS = 15


def sign(event: BuiltEvent, material: SigningMaterial, now: float | None = None) -> Delivery:
    """The signed request for ``event``, as ``material.provider`` would send it."""
    timestamp = int(now if now is not None else time.time())
    try:
        signer = tooling(material.provider).sign
    except KeyError:
        raise CannotSign(f"no signer for provider {material.provider!r}") from None
    return signer(event, material, timestamp)


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
