"""Standard Webhooks: the provider as the receiver and the processor see it.

The signature scheme is in :mod:`.signature`; the mapping to PaymentEvents in
:mod:`.normalize`, imported only when an event is processed.

Options: none.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.errors import InvalidSignature
from chalicelib.providers._helpers import (
    NormalizedOnFirstUse,
    any_digest_matches,
    base64_text,
    check_timestamp,
    decode_text,
    derived,
    hmac_sha256_after,
    parse_json_object,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig
from chalicelib.providers.standard.signature import (
    HEADER_NAMES,
    read_event_type,
    read_headers,
    signed_bytes,
    signing_keys,
)


class StandardWebhooksProvider(NormalizedOnFirstUse):
    """Any sender that follows the Standard Webhooks specification with symmetric (v1) keys."""

    name: str = "standard"
    # webhook-signature and svix-signature
    signature_headers: tuple[str, ...] = tuple(names[2] for names in HEADER_NAMES.values())
    acknowledgement: Acknowledgement | None = None
    options: Mapping[str, str] = MappingProxyType({})

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then the timestamp, then require a JSON object body.

        The timestamp is checked only once a signature matched, so :class:`SignatureExpired`
        always means "authentic but too old or too new" and never hides a forgery. The signed
        ``webhook-timestamp`` is the event's ``signed_created_at`` (the spec's only signed time).
        """
        keys = derived(source, signing_keys)
        signed = read_headers(headers)
        message = signed_bytes(signed.msg_id, signed.timestamp, raw)
        expected = [base64_text(hmac_sha256_after(key, message)) for key in keys]
        # Compared as canonical base64 text; a non-ASCII value can never match (and compare_digest
        # refuses non-ASCII text).
        candidates = [value for value in signed.signatures if value.isascii()]
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()
        check_timestamp(signed.timestamp, now, source.tolerance_seconds)

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            InboundEvent(  # (id, type, payload)
                signed.msg_id, read_event_type(document), text, signed_created_at=float(signed.timestamp)
            )
        ]


PROVIDER = StandardWebhooksProvider()
