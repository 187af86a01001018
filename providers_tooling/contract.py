"""What a provider's tooling half offers: the sender's signer, samples, local secret, leak patterns.

Everything here serves development and tests (``ops send``, ``make run``, the test suite, the leak
check); none of it ships in the Lambda package. Each provider's module ``providers_tooling/<name>``
defines one :class:`ProviderTooling` called ``TOOLING``, found through the provider registry
(:data:`chalicelib.providers.PROVIDER_NAMES`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.pki import LocalPki
    from providers_tooling.samples import BuiltEvent, Sample

JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json"}


class CannotSign(Exception):
    """The sender lacks what the provider's scheme needs (e.g. PayPal outside the local stack)."""


@dataclass(frozen=True)
class SigningMaterial:
    """What signing for one source takes: its first secret, its configuration entry, and what
    only a local stack holds (PayPal's private key and certificate URL)."""

    provider: str
    secret: str
    """The source's first secret: Stripe/Standard secret, Square key, Adyen hex key, PayPal webhook id..."""
    source: Mapping[str, Any] = field(default_factory=dict)
    """The source's entry in the stage's configuration (its options, e.g. Square's notificationUrl)."""
    local: Mapping[str, Any] = field(default_factory=dict)
    """Local-stack-only material for this provider (PayPal: ``key_pem``, ``cert_url``)."""

    @classmethod
    def from_source(
        cls, entry: Mapping[str, Any], provider: str, local: Mapping[str, Any] | None = None
    ) -> SigningMaterial:
        secrets = entry.get("secrets") or [""]
        return cls(provider=provider, secret=str(secrets[0]), source=dict(entry), local=dict(local or {}))


@dataclass(frozen=True)
class Delivery:
    """A signed request body and its headers, as the provider would send them."""

    body: bytes
    headers: dict[str, str]


Signer = Callable[["BuiltEvent", SigningMaterial, int], Delivery]
"""``sign(event, material, unix_time)``: the request the provider would send for ``event``."""


@dataclass(frozen=True)
class LocalSecret:
    """The local stack's secret for a provider: taken from ``variable``, else generated once."""

    variable: str
    generate: Callable[[], str]
    description: str


@dataclass(frozen=True)
class LocalStack:
    """What a provider's local source entry may need from the running local stack."""

    pki: LocalPki
    """The local CA and PayPal-like signing certificate (devstack/pki.py)."""
    square_notification_url: str
    """The URL Square's signature covers (``SQUARE_NOTIFICATION_URL`` or the local endpoint)."""


@dataclass(frozen=True)
class ProviderTooling:
    """The development and test half of one provider (the runtime half is ``chalicelib.providers.<name>``)."""

    name: str
    samples: tuple[Sample, ...]
    new_payment_id: Callable[[], str]
    sign: Signer
    local_secret: LocalSecret
    test_source: Mapping[str, Any] | None
    """The test suite's source entry (``{"secrets": [...], **options}``) with fixed test secrets;
    None when the tests' stack cannot serve the provider (PayPal: its certificates)."""
    leak_patterns: tuple[re.Pattern[str], ...]
    """Shapes of this provider's secrets and signatures that must never appear in a log line."""
    lifecycle: tuple[str, ...] = ()
    """One payment's life in sample names, in order (``ops lifecycle``); empty: not offered."""
    new_payment_samples: tuple[str, ...] = ()
    """Samples whose delivery each starts a new payment (``make bench`` sends them in turn to
    count the AWS calls of a new webhook); empty: the bench leaves the provider out."""
    local_source: Callable[[str, LocalStack], dict[str, Any]] = field(
        default=lambda secret, stack: {"secrets": [secret]}
    )
    """The local stage's source entry for the resolved secret (most providers need nothing else)."""

    @property
    def test_secrets(self) -> tuple[str, ...]:
        return tuple(self.test_source["secrets"]) if self.test_source is not None else ()


def compact_body(document: Mapping[str, Any]) -> bytes:
    """A JSON document as a sender writes it: compact separators, UTF-8."""
    return json.dumps(document, separators=(",", ":")).encode()
