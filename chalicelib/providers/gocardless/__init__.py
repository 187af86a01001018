"""GoCardless: the provider as the receiver and the processor see it.

The signature scheme is in :mod:`.signature`; the mapping to PaymentEvents in
:mod:`.normalize`, imported only when an event is processed. GoCardless counts any 2xx as
delivered (it expects 204 or 200), so the gateway's JSON answer serves; a delivery of several
events also lists every webhook id in ``X-Webhook-Ids``.

Options: none. Secrets are the webhook endpoint secrets from GoCardless's dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.providers._helpers import (
    NormalizedOnFirstUse,
    decode_text,
    derived,
    parse_object_with_element_texts,
    require_header,
    require_hex_body_hmac,
    required_string,
    signed_rfc3339_time,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig
from chalicelib.providers.gocardless.signature import (
    EVENTS_KEY,
    SIGNATURE_HEADER,
    delivery_events,
    event_type,
    signing_keys,
)


class GoCardlessProvider(NormalizedOnFirstUse):
    """GoCardless webhook endpoints (several events per delivery)."""

    name: str = "gocardless"
    signature_headers: tuple[str, ...] = (SIGNATURE_HEADER,)
    acknowledgement: Acknowledgement | None = None
    options: Mapping[str, str] = MappingProxyType({})

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then return one event per entry of ``events``, in order.

        ``now`` is unused: no header carries a time, but the whole body is signed, so each event's
        ``created_at`` is its ``signed_created_at`` (None when unreadable). Each event's payload is its
        object's text exactly as sent (the signature covers the whole delivery, so a stored event
        is not re-verifiable on its own; it was verified as part of the delivery).
        """
        keys = derived(source, signing_keys)
        received = require_header(headers, SIGNATURE_HEADER)
        require_hex_body_hmac(keys, raw, received)

        document, texts = parse_object_with_element_texts(decode_text(raw), EVENTS_KEY)
        events = delivery_events(document)
        assert texts is not None and len(texts) == len(events)  # delivery_events requires the array
        return [
            InboundEvent(
                required_string(event, "id"), event_type(event), text,
                signed_created_at=signed_rfc3339_time(event.get("created_at")),
            )
            for event, text in zip(events, texts, strict=True)
        ]


PROVIDER = GoCardlessProvider()
