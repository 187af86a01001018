"""The provider contract: what the core asks of every provider package, and what it hands over.

A provider (``chalicelib/providers/<name>/``) turns a raw delivery into verified events: it checks
the signature on the raw bytes (before any JSON parsing, except Adyen whose signatures live inside
the body), then extracts each event's stable id and type. It raises only the errors in
:mod:`chalicelib.errors`. Later, the processor asks it to ``normalize`` a stored event into the
canonical :class:`~chalicelib.payments.model.PaymentEvent` (step 6 of the flow). The receiver
answers with the provider's own :class:`Acknowledgement` when it has one, so it needs no branch
per provider. The helpers providers share are private to them (:mod:`chalicelib.providers._helpers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.webhooks.record import WebhookRecord


@dataclass(frozen=True)
class SourceConfig:
    """One named source: which provider signs it and with what.

    ``secrets`` holds every verification value that is currently valid (several while one is
    being rotated): Stripe ``whsec_...`` secrets, Square signature keys, Adyen hex HMAC keys,
    Standard Webhooks ``whsec_<base64>`` secrets, PayPal webhook ids. ``options`` holds the
    provider-specific settings each provider declares in its ``options`` schema. ``stage`` is the
    deployment stage the source is served in (from the settings), for the few checks that differ
    in a local stack; providers never read the environment themselves.
    """

    name: str
    provider: str
    secrets: tuple[str, ...]
    tolerance_seconds: int = 300
    options: Mapping[str, Any] = field(default_factory=dict)
    stage: str = ""
    derived: dict[Callable[[SourceConfig], Any], Any] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """What providers derive from this configuration (decoded keys), see ``_helpers.derived``."""


class InboundEvent(NamedTuple):
    """One verified event of a delivery (Adyen and GoCardless deliveries may carry several).

    A named tuple, not a frozen dataclass: one is made per webhook on the request path, and a
    frozen dataclass's ``__init__`` costs twice as much (``object.__setattr__`` per field).
    """

    event_id: str
    event_type: str
    payload: str
    """The event's JSON text, exactly as received (one item's JSON for Adyen), for replay."""
    transmission_id: str = ""
    """The provider's id of the signed transmission, set only where the signature does not bind
    the body with a cryptographic hash (PayPal signs a CRC32 of it): ingest then admits one body
    per transmission id. Empty for every provider whose MAC covers the body itself."""
    content_digest: str = ""
    """Hex SHA-256 that tells two deliveries of this event apart, set where a provider's genuine
    retries may differ in a field that says nothing about the event (Stripe's ``pending_webhooks``
    counts the endpoints still to deliver to). Empty: the SHA-256 of ``payload``."""
    signed_created_at: float | None = None
    """Unix seconds of a time inside what the signature covers that is no later than when the
    provider first sent the event (its creation time in a signed body, or the signed header time
    the verifier already holds to its tolerance), when the signed content has one: ingest then
    refuses an event older than the records' retention, which bounds every replay of it to the
    life of its record, and needs no dedupe marker for it. None (Adyen, whose HMAC covers no
    time; an event read from a provider's API; a signed body without a readable time): ingest
    keeps a dedupe marker for it (docs/RELIABILITY.md, "Replays after the record expired")."""


@dataclass(frozen=True)
class Acknowledgement:
    """A fixed 200 answer a provider expects instead of the gateway's JSON one."""

    body: str
    content_type: str = "text/plain"


class Provider(Protocol):
    """A payment provider's signature scheme and event dialect."""

    name: str
    signature_headers: tuple[str, ...]
    """Lower-case names of the request headers that carry signatures (never to be logged)."""
    acknowledgement: Acknowledgement | None
    """The 200 body the provider expects; None: the gateway's JSON ``{"webhookId", "status"}``."""
    options: Mapping[str, str]
    """The source options this provider reads (its configuration schema): name -> meaning."""

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify a delivery and return its events; ``headers`` have lower-case names."""
        ...

    def normalize(self, webhook: WebhookRecord, options: Mapping[str, Any] | None = None) -> PaymentEvent | None:
        """The stored event as a :class:`PaymentEvent`, or None when it is outside the mapping
        (the webhook is then ``ignored``). A payload that is in the mapping but cannot be read
        raises :class:`~chalicelib.errors.ProcessingError` with a safe reason. ``options`` are the
        options of the webhook's source (``SourceConfig.options``; the processor passes them)."""
        ...
