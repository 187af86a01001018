"""Stripe: the provider as the receiver and the processor see it.

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
    check_timestamp,
    decode_text,
    derived,
    digest_without,
    hmac_sha256_after,
    parse_json_object,
    require_header,
    required_string,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig
from chalicelib.providers.stripe.signature import (
    SIGNATURE_HEADER,
    parse_signature_header,
    signed_bytes,
    signing_keys,
)

VOLATILE_FIELDS = frozenset({"pending_webhooks"})
"""Fields of an event that Stripe may state differently on a retry of the same event:
``pending_webhooks`` counts the endpoints it has yet to deliver to. A conflicting-delivery check
that compared them would alert on genuine retries."""


class StripeProvider(NormalizedOnFirstUse):
    """Stripe webhook endpoints (snapshot events)."""

    name: str = "stripe"
    signature_headers: tuple[str, ...] = (SIGNATURE_HEADER,)
    acknowledgement: Acknowledgement | None = None
    options: Mapping[str, str] = MappingProxyType({})

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        """Verify the raw body, then the timestamp, then read the event's ``id`` and ``type``.

        The timestamp is checked only once a signature matched, so :class:`SignatureExpired`
        always means "authentic but too old or too new" and never hides a forgery. It is also the
        event's ``signed_created_at``: Stripe signs each attempt afresh, so ``t`` is never earlier
        than the event's ``created`` but always present and already held to the tolerance.
        """
        keys = derived(source, signing_keys)
        timestamp, received = parse_signature_header(require_header(headers, SIGNATURE_HEADER))
        signed = signed_bytes(timestamp, raw)
        expected = [hmac_sha256_after(key, signed).hex() for key in keys]
        # Compared as hex text, as sent; a non-ASCII value can never match (and compare_digest
        # refuses non-ASCII text).
        candidates = [value for value in received if value.isascii()]
        if not any_digest_matches(expected, candidates):
            raise InvalidSignature()
        check_timestamp(timestamp, now, source.tolerance_seconds)

        text = decode_text(raw)
        document = parse_json_object(text)
        return [
            InboundEvent(
                required_string(document, "id"), required_string(document, "type"), text,
                content_digest=digest_without(document, VOLATILE_FIELDS), signed_created_at=float(timestamp),
            )
        ]


PROVIDER = StripeProvider()
