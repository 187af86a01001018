"""What every provider module offers, and the small helpers they share.

A provider turns a raw delivery into verified events: it checks the signature on the raw bytes
(before any JSON parsing, except Adyen whose signatures live inside the body), then extracts each
event's stable id and type. It raises only the errors in :mod:`chalicelib.errors`. Later, the
processor asks it to ``normalize`` a stored event into the canonical
:class:`~chalicelib.payments.model.PaymentEvent` (step 6 of the flow).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.errors import MalformedPayload, MissingHeader, SignatureExpired

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.store import WebhookRecord


@dataclass(frozen=True)
class SourceConfig:
    """One named source: which provider signs it and with what.

    ``secrets`` holds every verification value that is currently valid (several while one is
    being rotated): Stripe ``whsec_...`` secrets, Square signature keys, Adyen hex HMAC keys,
    Standard Webhooks ``whsec_<base64>`` secrets, PayPal webhook ids. ``options`` holds the
    provider-specific settings documented in each provider module.
    """

    name: str
    provider: str
    secrets: tuple[str, ...]
    tolerance_seconds: int = 300
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundEvent:
    """One verified event of a delivery (Adyen deliveries may carry several)."""

    event_id: str
    event_type: str
    payload: str
    """The event's JSON text, exactly as received (one item's JSON for Adyen), for replay."""


class Provider(Protocol):
    """A payment provider's signature scheme and event dialect."""

    name: str

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify a delivery and return its events; ``headers`` have lower-case names."""
        ...

    def is_payment_event(self, event_type: str) -> bool:
        """Whether events of this type describe a payment (others are stored as ``ignored``)."""
        ...

    def normalize(self, webhook: WebhookRecord) -> PaymentEvent | None:
        """The stored event as a :class:`PaymentEvent`, or None when it is outside the mapping
        (the webhook is then ``ignored``). A payload that is in the mapping but cannot be read
        raises :class:`~chalicelib.errors.ProcessingError` with a safe reason."""
        ...


def require_header(headers: Mapping[str, str], name: str) -> str:
    """The header's value, or :class:`MissingHeader` when it is absent or blank."""
    value = headers.get(name.lower())
    if value is None or not value.strip():
        raise MissingHeader(f"Missing required header: {name}.")
    return value.strip()


def any_digest_matches(expected: Iterable[bytes], received: Iterable[bytes]) -> bool:
    """Constant-time comparison of every expected digest against every received one."""
    received = list(received)
    matched = False
    for want in expected:
        for got in received:
            # No early exit: the time taken does not tell which secret or entry matched.
            matched |= hmac.compare_digest(want, got)
    return matched


def check_timestamp(timestamp: int, now: float, tolerance_seconds: int) -> None:
    """Reject timestamps too far in the past *or* the future (replays and clock tricks)."""
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureExpired()


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Parse a body that must be one JSON object; anything else is :class:`MalformedPayload`."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError covers bad UTF-8 and bad JSON
        raise MalformedPayload("The body is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MalformedPayload("The body must be a JSON object.")
    return document


def required_string(document: Mapping[str, Any], key: str) -> str:
    """A non-empty string field of the payload, or :class:`MalformedPayload`."""
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"The event has no '{key}'.")
    return value
