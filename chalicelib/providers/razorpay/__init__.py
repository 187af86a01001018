"""Razorpay: the provider as the receiver and the processor see it.

The signature scheme is in :mod:`.signature`; the mapping to PaymentEvents in
:mod:`.normalize`, imported only when an event is processed. Razorpay counts any 2xx as
delivered: the gateway's JSON answer serves.

Options: none. Secrets are the webhook secrets set in Razorpay's dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.providers._helpers import (
    NormalizedOnFirstUse,
    decode_text,
    derived,
    parse_json_object,
    require_header,
    require_hex_body_hmac,
    required_string,
    signed_unix_time,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig
from chalicelib.providers.razorpay.signature import EVENT_ID_HEADER, SIGNATURE_HEADER, signing_keys


class RazorpayProvider(NormalizedOnFirstUse):
    """Razorpay webhooks (one event per delivery, its id in a header)."""

    name: str = "razorpay"
    signature_headers: tuple[str, ...] = (SIGNATURE_HEADER,)
    acknowledgement: Acknowledgement | None = None
    options: Mapping[str, str] = MappingProxyType({})

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then read the event id (header) and the ``event`` type (body).

        ``now`` is unused: no header carries a time (see :mod:`.signature`), but the whole body is
        signed, so its ``created_at`` (Unix seconds) is the event's ``signed_created_at``.
        """
        keys = derived(source, signing_keys)
        received = require_header(headers, SIGNATURE_HEADER)
        event_id = require_header(headers, EVENT_ID_HEADER)
        require_hex_body_hmac(keys, raw, received)

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            InboundEvent(
                event_id, required_string(document, "event"), text,
                signed_created_at=signed_unix_time(document.get("created_at")),
            )
        ]


PROVIDER = RazorpayProvider()
