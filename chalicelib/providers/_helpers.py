"""Helpers the provider packages share: headers, constant-time comparison, HMACs, JSON bodies.

Private to :mod:`chalicelib.providers` (the contract the core relies on is
:mod:`chalicelib.providers.contract`). Every function raises only :mod:`chalicelib.errors`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import json
import re
from binascii import b2a_base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from chalicelib.errors import (
    ConfigurationError,
    InvalidSignature,
    MalformedPayload,
    MissingHeader,
    SignatureExpired,
)
from chalicelib.providers.contract import SourceConfig

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.webhooks.record import WebhookRecord

T = TypeVar("T")
KeyedHmac = hmac.HMAC
"""An HMAC-SHA256 that has absorbed its key (and maybe a constant prefix); copied per delivery."""
_DECODER = json.JSONDecoder()
_FAST_DECODER = msgspec.json.Decoder()
_JSON_WHITESPACE = " \t\n\r"


def derived(source: SourceConfig, build: Callable[[SourceConfig], T]) -> T:
    """``build(source)``, computed once per source configuration and then reused.

    Decoding and validating keys (base64, hex, blank checks) is the same work for every delivery
    of a source, so it is done on the first one and kept on the :class:`SourceConfig`, which the
    registry replaces whenever the configuration is reloaded (rotation takes effect as before).
    A configuration error is raised again on every delivery, never cached. With the keyed HMAC
    made here too (:func:`keyed_hmac`), that is 1.7 µs less per Adyen delivery (timeit).
    """
    try:
        return source.derived[build]  # type: ignore[no-any-return]  # the cache holds what each build returned
    except KeyError:
        value = source.derived[build] = build(source)
        return value


def require_header(headers: Mapping[str, str], name: str) -> str:
    """The header's value, or :class:`MissingHeader` when it is absent or blank."""
    value = headers.get(name.lower())
    if value is None or not value.strip():
        raise MissingHeader(f"Missing required header: {name}.")
    return value.strip()


def any_digest_matches(expected: Sequence[str | bytes], received: Sequence[str | bytes]) -> bool:
    """Constant-time comparison of every expected digest against every received one.

    Digests may be ASCII text (hex or base64, compared as sent, with no encoding step) or bytes;
    both sides of one comparison must be the same type.
    """
    matched = False
    for want in expected:
        for got in received:
            # No early exit: the time taken does not tell which secret or entry matched.
            matched |= hmac.compare_digest(want, got)  # type: ignore[arg-type]  # one type per pair, as documented
    return matched


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 in one call (for signing helpers; verifiers use :func:`keyed_hmac`)."""
    return hmac.digest(key, message, "sha256")


def keyed_hmac(key: bytes, prefix: bytes = b"") -> KeyedHmac:
    """An HMAC-SHA256 that has already absorbed ``key`` (and a constant ``prefix``).

    Made once per source configuration (see :func:`derived`); :func:`hmac_sha256_after` copies
    it for each delivery, which skips the key schedule (and, for Square, hashing the notification
    URL again). ``hmac.new`` with a digest name uses OpenSSL's HMAC when Python has it. Copying is
    thread-safe: the shared object is never updated.
    """
    return hmac.new(key, prefix, "sha256")


def hmac_sha256_after(keyed: KeyedHmac, message: bytes) -> bytes:
    """The HMAC-SHA256 of ``keyed``'s key over its prefix followed by ``message``."""
    mac = keyed.copy()
    mac.update(message)
    return mac.digest()


def require_hex_body_hmac(keys: Sequence[KeyedHmac], raw: bytes, received: str) -> None:
    """Raise :class:`InvalidSignature` unless ``received`` is the hex HMAC-SHA256 of the body
    exactly as sent under one of ``keys`` (GoCardless's and Razorpay's scheme: one hex digest in a
    header, nothing else signed).

    Compared as hex text, as sent, as both official libraries do; a non-ASCII value can never
    match (and ``compare_digest`` refuses non-ASCII text). Every key is tried (no early exit).
    """
    expected = [hmac_sha256_after(key, raw).hex() for key in keys]
    if not received.isascii() or not any_digest_matches(expected, (received,)):
        raise InvalidSignature()


def base64_text(digest: bytes) -> str:
    """Standard base64 (with padding) as text: ``binascii`` directly, half the cost of
    ``base64.b64encode(...).decode()``."""
    return b2a_base64(digest, newline=False).decode("ascii")


def check_timestamp(timestamp: int, now: float, tolerance_seconds: int) -> None:
    """Reject timestamps too far in the past *or* the future (replays and clock tricks)."""
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureExpired()


def signed_unix_time(value: object) -> float | None:
    """A signed body's Unix-seconds time (Razorpay's ``created_at``), or None when it is not an
    integer time one could have been signed with: the event then keeps its dedupe marker
    (``InboundEvent.signed_created_at``), never a refusal for a field we only use to bound age."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**33:
        return None
    return float(value)


_RFC3339_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,}(?:Z|[+-][0-9]{2}:[0-9]{2})")


def signed_rfc3339_time(value: object) -> float | None:
    """A signed body's RFC 3339 time with a zone (Square's and GoCardless's ``created_at``) as Unix
    seconds, or None when it is not one (see :func:`signed_unix_time`). ASCII digits and an
    explicit zone only: a time without a zone would be read in whatever zone the Lambda runs."""
    if not isinstance(value, str) or len(value) > 40 or not _RFC3339_SHAPE.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:  # month 13, hour 25...
        return None


def require_secrets(source: SourceConfig, what: str) -> tuple[str, ...]:
    """The source's secrets; a blank one would let anyone sign, so it is a configuration error.

    ``what`` names them in the error, e.g. "Stripe secrets" (the values never appear in it).
    """
    if not source.secrets or not all(secret.strip() for secret in source.secrets):
        raise ConfigurationError(f"source {source.name!r}: {what} must be non-empty")
    return source.secrets


def decode_text(raw: bytes) -> str:
    """The body as text, by the one rule every provider follows: strict UTF-8, no BOM.

    Strict: ``json.loads`` on bytes would also take UTF-16 and UTF-32 and let UTF-8-encoded
    surrogates through (it decodes with ``surrogatepass``). No BOM: the text is kept verbatim for
    replay, and a leading BOM would not re-parse.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("The body is not UTF-8 text.") from exc
    if text.startswith("\ufeff"):
        raise MalformedPayload("The body must not start with a byte order mark.")
    return text


def digest_without(document: Mapping[str, Any], volatile: frozenset[str]) -> str:
    """Hex SHA-256 of ``document`` without its top-level ``volatile`` keys (canonical JSON: sorted
    keys, compact), so two deliveries that differ only there digest alike."""
    kept = {key: value for key, value in document.items() if key not in volatile}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_WHITESPACE = re.compile(f"[{_JSON_WHITESPACE}]*")


def _skip(text: str, index: int) -> int:
    match = _WHITESPACE.match(text, index)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _value(text: str, index: int) -> tuple[Any, int]:
    """One JSON value starting at ``index`` (the decoder's public ``raw_decode``), and its end."""
    return _DECODER.raw_decode(text, index)


def _array_elements(text: str, index: int) -> tuple[list[Any], list[str], int]:
    """The array starting at ``text[index] == "["``: its values, each one's text, and its end."""
    values: list[Any] = []
    texts: list[str] = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return values, texts, index + 1
    while True:
        value, end = _value(text, index)
        values.append(value)
        texts.append(text[index:end])
        index = _skip(text, end)
        if text[index] == "]":
            return values, texts, index + 1
        if text[index] != ",":
            raise ValueError("expected , or ]")
        index = _skip(text, index + 1)


def parse_object_with_element_texts(text: str, array_key: str) -> tuple[dict[str, Any], list[str] | None]:
    """The body as one JSON object (as ``json.loads`` reads it: the last of duplicate keys wins),
    and the text of each element of its ``array_key`` array (None unless it is one), exactly as
    sent: what a provider that delivers several events in one body stores for each (Adyen's
    items, GoCardless's events), rather than a re-serialisation that was never sent.

    msgspec reads both first: the document as :func:`parse_json_object` does, and the elements'
    texts as ``msgspec.Raw`` (the span of each, as sent): 5 against 17 µs for Adyen's 0.45 KB
    delivery (timeit). Whatever it refuses, or finds in a shape it cannot answer for (a body that
    is no object, a key absent or no array), goes to :func:`parse_object_with_element_texts_as_json`,
    which decides; ``tests/unit/providers/test_json_parse.py`` holds the two to the same results.
    """
    try:
        document = _FAST_DECODER.decode(text)
        if isinstance(document, dict):
            raw_elements = _element_decoder(array_key).decode(text).elements
            return document, [bytes(element).decode("utf-8") for element in raw_elements]
    except (msgspec.MsgspecError, ValueError, RecursionError):
        pass
    return parse_object_with_element_texts_as_json(text, array_key)


@functools.cache
def _element_decoder(array_key: str) -> msgspec.json.Decoder[Any]:
    """Reads only ``array_key``, as a list of raw JSON spans (every other value is checked, not built)."""
    shape = msgspec.defstruct("Elements", [("elements", list[msgspec.Raw])], rename={"elements": array_key})
    return msgspec.json.Decoder(shape)


def parse_object_with_element_texts_as_json(text: str, array_key: str) -> tuple[dict[str, Any], list[str] | None]:
    """:func:`parse_object_with_element_texts` by ``json`` alone: only the top level is walked
    here; every value in it is decoded by the C decoder."""
    document: dict[str, Any] = {}
    entries: list[str] | None = None
    try:
        index = _skip(text, 0)
        if text[index] != "{":
            raise MalformedPayload("The body must be a JSON object.")
        index = _skip(text, index + 1)
        if text[index] == "}":
            index += 1
        else:
            while True:
                if text[index] != '"':
                    raise ValueError("object keys are strings")
                key, index = _value(text, index)
                index = _skip(text, index)
                if text[index] != ":":
                    raise ValueError("expected :")
                index = _skip(text, index + 1)
                if key == array_key and text[index] == "[":
                    document[key], entries, index = _array_elements(text, index)
                else:
                    document[key], index = _value(text, index)
                    if key == array_key:
                        entries = None  # a later duplicate key replaces the array
                index = _skip(text, index)
                if text[index] == "}":
                    index += 1
                    break
                if text[index] != ",":
                    raise ValueError("expected , or }")
                index = _skip(text, index + 1)
        if _skip(text, index) != len(text):
            raise ValueError("extra data")
    except (ValueError, IndexError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedPayload("The body is not valid JSON.") from exc
    return document, entries


class NormalizedOnFirstUse:
    """The ``normalize`` every provider package has: its ``normalize`` module's function, imported on
    first use. The receiver never normalizes, so its cold start skips every normalizer."""

    name: str

    def normalize(self, webhook: WebhookRecord, options: Mapping[str, Any] | None = None) -> PaymentEvent | None:
        """``options`` unused: a provider whose normalizer reads source options overrides this."""
        module = importlib.import_module(f"chalicelib.providers.{self.name}.normalize")
        normalize: Callable[[WebhookRecord], PaymentEvent | None] = module.normalize
        return normalize(webhook)


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    """Parse a body that must be one JSON object; anything else is :class:`MalformedPayload`.

    Pass the text from :func:`decode_text` when there is one; bytes are decoded by it here, so
    no provider can parse by another rule. The result is exactly what ``json.loads`` makes of the
    text, or ``json.loads``' refusal: msgspec's decoder parses it first (10.5 against 25.7 µs for
    Square's 1.8 KB event, timeit: the parse is most of a verification, figure 1), and anything it
    refuses goes to :func:`parse_json_object_as_json`, which decides. Its integers are exact at any
    size and its floats correctly rounded, as ``json``'s; what it refuses and ``json`` takes (a
    lone surrogate escape, ``NaN``, ``1e400``) is therefore read by ``json``, as before.
    ``tests/unit/providers/test_json_parse.py`` holds the two to the same results. (orjson, faster
    still, reads an integer beyond 64 bits as a float without a word: docs/PERFORMANCE.md.)
    """
    text = raw if isinstance(raw, str) else decode_text(raw)
    try:
        document = _FAST_DECODER.decode(text)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return parse_json_object_as_json(text)
    if not isinstance(document, dict):
        raise MalformedPayload("The body must be a JSON object.")
    return document


def parse_json_object_as_json(text: str) -> dict[str, Any]:
    """:func:`parse_json_object` by ``json`` alone: JSON whitespace around one document, nothing
    else, through the decoder's public ``raw_decode`` without ``loads``' wrappers."""
    try:
        text = text.strip(_JSON_WHITESPACE)  # the same object when there is nothing to strip
        document, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise MalformedPayload("The body is not valid JSON.")
    except (ValueError, RecursionError) as exc:  # ValueError covers bad JSON
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
