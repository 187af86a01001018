"""What every provider's sample builders share: options, the build context, id helpers.

The provider-specific parts (payload shapes, merchant ids) are in ``providers_tooling/<name>/samples.py``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.payments.money import format_minor_units

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits

Document = dict[str, Any]


class UnknownSample(Exception):
    """No sample of that name for that provider; the message lists the ones there are."""


@dataclass(frozen=True)
class SampleOptions:
    payment_id: str | None = None
    """The provider's id of the payment (PaymentIntent, Square payment, PayPal order, Adyen
    pspReference, Standard ``pay_...``); a new one when None. Reuse it to send a life cycle."""
    amount: int = 2000
    """In minor units (2000 = 20.00 USD)."""
    currency: str = "USD"
    event_id: str | None = None
    """The provider's event id (Standard Webhooks: the ``webhook-id``); a new one when None.
    Adyen has none: its notifications are identified by their signed fields."""
    now: float | None = None


@dataclass(frozen=True)
class BuiltEvent:
    provider: str
    sample: str
    event_type: str
    document: Document
    event_id: str
    """The id the receiver deduplicates on (for Adyen, its dedupe key)."""
    payment_id: str


@dataclass(frozen=True)
class Sample:
    provider: str
    name: str
    event_type: str
    description: str
    builder: Callable[[Context], tuple[Document, str]] = field(repr=False)


def random_id(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def derived_id(seed: str, salt: str, alphabet: str, length: int) -> str:
    """A stable id made from ``seed``: the same payment always has the same refund id, etc."""
    digest = hashlib.sha256(f"{seed}|{salt}".encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def decimal_amount(amount: int, currency: str) -> str:
    """Minor units as a decimal string, as PayPal writes amounts ("20.00", "2000" for JPY).

    The currency exponents are the ones the app itself converts with (ISO 4217)."""
    return format_minor_units(amount, currency.upper())


class Context:
    """What one build knows: options with generated defaults, and helpers for derived values."""

    def __init__(self, provider: str, options: SampleOptions, new_payment_id: Callable[[], str]) -> None:
        self.provider = provider
        self.options = options
        self.payment_id = options.payment_id or new_payment_id()
        self.amount = options.amount
        self.currency = options.currency.upper()
        self.now = options.now if options.now is not None else time.time()

    def derive(self, salt: str, alphabet: str = ALNUM, length: int = 24) -> str:
        return derived_id(self.payment_id, salt, alphabet, length)

    def event_id(self, new: Callable[[], str]) -> str:
        return self.options.event_id or new()

    def unix(self, offset_seconds: float = 0) -> int:
        return int(self.now + offset_seconds)

    def iso(self, offset_seconds: float = 0, millis: bool = True) -> str:
        moment = datetime.fromtimestamp(self.now + offset_seconds, tz=UTC)
        if millis:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def money(self, amount: int | None = None) -> dict[str, Any]:
        return {"amount": self.amount if amount is None else amount, "currency": self.currency}
