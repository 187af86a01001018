"""Adyen: the provider as the receiver and the processor see it.

The signature scheme is in :mod:`.signature`; the mapping to PaymentEvents in
:mod:`.normalize`, imported only when an event is processed.

Options: ``merchantAccountCode`` (optional) binds the source to one merchant account: an item for
any other account is refused (400), even when signed with this source's key (Adyen's HMAC keys
can be set on a company account, shared by all its merchant accounts). Secrets are the hex HMAC
keys from Adyen's Customer Area. ``autoCapture`` (optional, ``true``): the merchant account
captures automatically (Adyen sends no ``CAPTURE``), so a successful ``AUTHORISATION`` counts as
captured; read by the processor (:func:`.normalize.normalize`), never by the receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from chalicelib.providers._helpers import NormalizedOnFirstUse, decode_text, derived, required_string
from chalicelib.providers.adyen.items import (
    AUTO_CAPTURE_OPTION,
    MERCHANT_ACCOUNT_OPTION,
    check_item,
    merchant_account,
    parse_delivery,
)
from chalicelib.providers.adyen.signature import (
    dedupe_key,
    keyed_hmacs,
    notification_items,
    verify_item,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.webhooks.record import WebhookRecord


class AdyenProvider(NormalizedOnFirstUse):
    """Adyen standard (payment) webhooks with HMAC signatures enabled."""

    name: str = "adyen"
    # None: the signatures travel inside the body (``additionalData.hmacSignature``).
    signature_headers: tuple[str, ...] = ()
    # Adyen accepts any 2xx, but its older integrations look for this exact body.
    acknowledgement: Acknowledgement | None = Acknowledgement("[accepted]")
    options: Mapping[str, str] = MappingProxyType({
        MERCHANT_ACCOUNT_OPTION: "the one merchant account this source accepts items for (default: any)",
        AUTO_CAPTURE_OPTION: "true: a successful AUTHORISATION counts as captured (auto-capture accounts)",
    })

    def normalize(self, webhook: WebhookRecord, options: Mapping[str, Any] | None = None) -> PaymentEvent | None:
        """The one normalizer that reads source options (``autoCapture``), imported on first use."""
        from chalicelib.providers.adyen.normalize import normalize

        return normalize(webhook, options)

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify every item, check its fields' formats, then return one event per item, in order.

        ``headers`` and ``now`` are unused: the signatures are in the body and carry no time. The
        body is decoded by the one rule every provider follows (strict UTF-8, no BOM). Each
        event's payload is its ``{"NotificationRequestItem": {...}}`` entry exactly as sent, with
        its ``hmacSignature``: what was signed, re-verifiable on its own, and never larger than
        its share of the body. One item that fails refuses the whole delivery, before anything
        is stored.
        """
        keys = derived(source, keyed_hmacs)
        pinned = merchant_account(source.options, source.name)
        document, entries = parse_delivery(decode_text(raw))
        items = notification_items(document)
        assert entries is not None and len(entries) == len(items)  # a list, so its texts were kept
        for item in items:
            verify_item(item, keys)
        for item in items:
            check_item(item, pinned)
        return [
            InboundEvent(
                event_id=dedupe_key(item),
                event_type=required_string(item, "eventCode"),
                payload=entry,
            )
            for item, entry in zip(items, entries, strict=True)
        ]


PROVIDER = AdyenProvider()
