"""Adyen standard webhooks: one HMAC per notification item, carried inside the body.

Each ``notificationItems[i].NotificationRequestItem.additionalData.hmacSignature`` is
base64(HMAC-SHA256(bytes.fromhex(key), "pspReference:originalReference:merchantAccountCode:
merchantReference:amount.value:amount.currency:eventCode:success")). A missing field is the empty
string and nothing is escaped (Adyen's own test notifications with ``:`` and ``\\`` in
``merchantReference`` verify that way). Since the signature lives in the body, the body is parsed
first; the raw bytes themselves are not signed.

Every item is verified and one bad or unsigned item rejects the whole delivery: Adyen's Python
helper checks only the first item of a body, which would let a forged item ride along with a
genuine one. Only those eight fields are signed, so the event id and type are built from them
alone; anything else in an item (``additionalData``, ``reason``...) is unauthenticated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers._helpers import (
    KeyedHmac,
    any_digest_matches,
    base64_text,
    hmac_sha256,
    hmac_sha256_after,
    keyed_hmac,
    required_string,
)
from chalicelib.providers.contract import SourceConfig

ITEM_KEY = "NotificationRequestItem"


def hmac_keys(source: SourceConfig) -> list[bytes]:
    """The source's hex HMAC keys as bytes; a key that is not hex (or is empty) is misconfigured."""
    keys: list[bytes] = []
    for secret in source.secrets:
        try:
            key = bytes.fromhex(secret)
        except ValueError:
            raise ConfigurationError(
                f"source {source.name!r}: Adyen HMAC keys must be hexadecimal"
            ) from None  # the message must not carry the key, nor the error text quoting it
        if not key:
            raise ConfigurationError(f"source {source.name!r}: Adyen HMAC keys must be non-empty")
        keys.append(key)
    if not keys:
        raise ConfigurationError(f"source {source.name!r}: Adyen needs at least one HMAC key")
    return keys


def keyed_hmacs(source: SourceConfig) -> tuple[KeyedHmac, ...]:
    """An HMAC keyed with each of the source's keys, made once per configuration (``derived``)."""
    return tuple(keyed_hmac(key) for key in hmac_keys(source))


def notification_items(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``NotificationRequestItem`` objects of a delivery; none, or a bad shape, is malformed."""
    entries = document.get("notificationItems")
    if not isinstance(entries, list) or not entries:
        raise MalformedPayload("The body has no notificationItems.")
    items: list[dict[str, Any]] = []
    for entry in entries:
        item = entry.get(ITEM_KEY) if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise MalformedPayload("Each notification item must hold a NotificationRequestItem.")
        items.append(item)
    return items


def signed_field(value: Any) -> str:
    """One field as Adyen signs it: strings as sent, integers in decimal, absent or null as "".

    Adyen's library renders with ``str()``. Strings and integers (``amount.value`` is an integer
    in minor units, and ``0`` must stay "0", not become "") are the only types Adyen sends for
    signed fields; any other type would be rendered differently by each of Adyen's libraries, so
    it is refused rather than guessed.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedPayload("A signed notification field has an unexpected type.")


def signing_string(item: Mapping[str, Any]) -> str:
    """The eight signed fields of an item joined with ':' in Adyen's order, nothing escaped."""
    amount = item.get("amount")
    if amount is None:
        amount = {}
    if not isinstance(amount, dict):
        raise MalformedPayload("The notification amount must be an object.")
    fields = (
        item.get("pspReference"),
        item.get("originalReference"),
        item.get("merchantAccountCode"),
        item.get("merchantReference"),
        amount.get("value"),
        amount.get("currency"),
        item.get("eventCode"),
        item.get("success"),
    )
    # Strings, nearly every field, are taken as they are; a list, not a generator, for join.
    return ":".join([value if type(value) is str else signed_field(value) for value in fields])


def signing_bytes(item: Mapping[str, Any]) -> bytes:
    """The signing string as the bytes the HMAC covers (UTF-8).

    ``surrogatepass``: a lone surrogate (``"\\ud800"`` is valid, ASCII JSON) must not crash the
    encoder before the signature is checked. Its bytes match no genuine signature, so an unsigned
    item with one is an invalid signature (401), and a signed one is refused afterwards by
    :func:`chalicelib.providers.adyen.items.check_item` (400).
    """
    return signing_string(item).encode("utf-8", "surrogatepass")


def compute_signature(key: bytes, item: Mapping[str, Any]) -> str:
    """Base64 HMAC-SHA256 of the item's signing string, as in ``hmacSignature``."""
    return base64_text(hmac_sha256(key, signing_bytes(item)))


def received_signature(item: Mapping[str, Any]) -> str:
    """The item's ``additionalData.hmacSignature``; an unsigned item is an invalid signature."""
    additional_data = item.get("additionalData")
    signature = additional_data.get("hmacSignature") if isinstance(additional_data, dict) else None
    if not isinstance(signature, str) or not signature or not signature.isascii():
        raise InvalidSignature()
    return signature


def verify_item(item: Mapping[str, Any], keys: Sequence[KeyedHmac]) -> None:
    """Raise :class:`InvalidSignature` unless one of the keyed HMACs (:func:`keyed_hmacs`)
    signed this item."""
    received = received_signature(item)  # ASCII text, compared as sent
    message = signing_bytes(item)
    expected = [base64_text(hmac_sha256_after(key, message)) for key in keys]
    if not any_digest_matches(expected, [received]):
        raise InvalidSignature()


def dedupe_key(item: Mapping[str, Any]) -> str:
    """Adyen has no event id; these signed fields identify one notification across retries."""
    return ":".join(
        (
            required_string(item, "pspReference"),
            required_string(item, "eventCode"),
            signed_field(item.get("success")),
            signed_field(item.get("originalReference")),
        )
    )
