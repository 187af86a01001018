"""How a webhook record's payload, headers and digest are stored: the sizes DynamoDB bills, the
packing that keeps a record in one write unit, and the readers that undo it.

Split from :mod:`chalicelib.webhooks.record` (what a record holds) because this is a concern of
its own: every reader of a stored item's payload, headers or digest goes through
:func:`stored_payload`, :func:`stored_headers` and :func:`stored_digest`, whatever encoding the
item was written with, and the writer is :func:`fit_write_unit` (docs/PERFORMANCE.md, "Item
sizes"). This module knows DynamoDB items and the dictionaries, nothing of records, so the record
module imports it and never the other way round.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.webhooks import dictionaries

MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's item size limit (names and values; moto enforces about 405,000 bytes)."""
WRITE_UNIT_BYTES = 1024
"""DynamoDB bills a write per started KB of the whole item (an update: of the larger of before and
after), so a record just over it costs two units at ingest and two again at its final update."""
FINAL_UPDATE_HEADROOM_BYTES = 128
"""What a record's final update may add to it: the ``attemptLog`` list (13 bytes with its name) and
one attempt entry (51 bytes for ``processed``, up to about 110 with a safe error reason). A record
is compressed when it would not fit one write unit with this headroom, so that its final update
costs one unit as well, not only its put. (It was 160 while the update also wrote ``finishedAt``.)"""
PAYLOAD_ENCODING_ZLIB = "zlib"
"""``payloadEncoding`` of a record whose ``payload`` is the zlib-compressed UTF-8 text, stored as
binary (:func:`stored_payload` gives the text back, byte for byte). Absent: ``payload`` is the text."""
PAYLOAD_ENCODING_DICT_PREFIX = "zlib-dict:"
"""``payloadEncoding`` ``zlib-dict:<dictionary>`` (``zlib-dict:stripe-1``): zlib-compressed with
that frozen preset dictionary (:mod:`chalicelib.webhooks.dictionaries`), about half the size of
plain ``zlib`` on a typical event. What new records of a provider with a dictionary are written
with; ``zlib`` is what a provider without one gets, and what older records have."""
WITH_HEADERS = "+headers"
"""In a ``payloadEncoding`` before the dictionary's name (``zlib+headers``,
``zlib-dict+headers:paypal-2``): the compressed value holds the request headers as well, as
compact JSON, then a newline, then the payload text; the record has no ``headers`` attribute.
One zlib stream instead of two saves the second stream's framing and code tables (about 60
bytes) and the ``headersEncoding`` attribute (24), and lets the headers use the provider's
dictionary (its header names and shared values, from ``paypal-2`` on): what brings PayPal's
records into one write unit (docs/PERFORMANCE.md, "Item sizes"). Compact JSON escapes every
newline inside a string, so the first newline is the separator."""
HEADERS_ENCODING_ZLIB_JSON = "zlib-json"
"""``headersEncoding`` of a record whose ``headers`` are zlib-compressed compact JSON, as binary.
Written until :data:`WITH_HEADERS` replaced it; still read."""


def stored_digest(item: Mapping[str, Any]) -> str:
    """The hex SHA-256 ``payloadSha256`` of a stored item ("" if it has none), whatever its form.

    A webhook record stores it as its 32 raw bytes (``B``: 45 bytes with the name, instead of 77 as
    hex text, on every write of the hot item); dedupe markers and records written before that have
    the hex text (``S``). Everything that compares digests reads them through here, so both forms
    compare equal.
    """
    value = item.get("payloadSha256", {})
    if "B" in value:
        return bytes(value["B"]).hex()
    return str(value.get("S", ""))


def digest_value(digest: str) -> dict[str, Any]:
    """``payloadSha256`` as written on a record: raw bytes when it is a SHA-256 in lower-case hex
    (what reads back as the same text), else as given."""
    if len(digest) == 64 and digest == digest.lower():
        try:
            return {"B": bytes.fromhex(digest)}
        except ValueError:
            pass
    return {"S": digest}


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of the size DynamoDB counts for an item of string, binary and number
    attributes (attribute names plus values in UTF-8; a number counted as its text, which is never
    less; a binary value by its length)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        for text in value.values():
            size += len(text) if isinstance(text, bytes) else len(str(text).encode("utf-8", "surrogatepass"))
    return size


def _packed(text: str, dictionary: str | None = None) -> bytes:
    return dictionaries.compress(text.encode("utf-8", "surrogatepass"), dictionary)


def _unpacked(value: Mapping[str, Any], dictionary: str | None = None) -> str:
    return dictionaries.decompress(bytes(value["B"]), dictionary).decode("utf-8", "surrogatepass")


def payload_encoding(provider: str) -> tuple[str, str | None]:
    """The ``payloadEncoding`` a compressed payload of ``provider`` is written with, and its dictionary."""
    dictionary = dictionaries.current(provider)
    if dictionary is None:
        return PAYLOAD_ENCODING_ZLIB, None
    return PAYLOAD_ENCODING_DICT_PREFIX + dictionary, dictionary


_DICT_WITH_HEADERS_PREFIX = PAYLOAD_ENCODING_DICT_PREFIX.replace(":", WITH_HEADERS + ":")


def _with_headers(encoding: str) -> str:
    """``encoding`` (a payload-only one) for a value that carries the headers too (:data:`WITH_HEADERS`)."""
    if encoding == PAYLOAD_ENCODING_ZLIB:
        return PAYLOAD_ENCODING_ZLIB + WITH_HEADERS
    return _DICT_WITH_HEADERS_PREFIX + encoding.removeprefix(PAYLOAD_ENCODING_DICT_PREFIX)


def _payload_format(encoding: str) -> tuple[str | None, bool]:
    """The dictionary a stored ``payloadEncoding`` names (None for plain ``zlib``) and whether the
    value carries the headers; ValueError if the encoding is unknown."""
    if encoding in (PAYLOAD_ENCODING_ZLIB, PAYLOAD_ENCODING_ZLIB + WITH_HEADERS):
        return None, encoding != PAYLOAD_ENCODING_ZLIB
    for prefix, with_headers in ((PAYLOAD_ENCODING_DICT_PREFIX, False), (_DICT_WITH_HEADERS_PREFIX, True)):
        if encoding.startswith(prefix) and len(encoding) > len(prefix):
            return encoding.removeprefix(prefix), with_headers
    raise ValueError(f"unknown payloadEncoding {encoding!r}")


def _headers_json(headers: Mapping[str, str]) -> str:
    return json.dumps(headers, separators=(",", ":"), ensure_ascii=False)


def fit_write_unit(item: dict[str, Any], payload: str, headers: Mapping[str, str]) -> None:
    """Compress the payload, then the headers with it, while the item and what its final update
    adds (:data:`FINAL_UPDATE_HEADROOM_BYTES`) cost more than one write unit.

    With its provider's preset dictionary a JSON body of 1-2 KB shrinks to a quarter or a third
    (plain zlib: about half; the dictionary gives the compressor the key names and structure a
    lone small document has no history for), which brings typical records under the 1 KB a write
    unit covers, at ingest and again at the final update (docs/PERFORMANCE.md, "Item sizes"). A
    record still over (PayPal's: three unique header values) then stores its headers inside the
    payload's compressed value (:data:`WITH_HEADERS`). Below the boundary nothing is compressed:
    it would cost CPU on the request path and save no unit. Each step is taken only if it makes
    the item smaller, and the readers (:func:`stored_payload`, :func:`stored_headers`) undo any.
    """
    target = WRITE_UNIT_BYTES - FINAL_UPDATE_HEADROOM_BYTES
    if item_size(item) <= target:
        return
    encoding, dictionary = payload_encoding(item["provider"]["S"])
    packed = _packed(payload, dictionary)
    if len(packed) + len("payloadEncoding") + len(encoding) < item_size({"payload": item["payload"]}):
        item["payload"] = {"B": packed}
        item["payloadEncoding"] = {"S": encoding}
    if headers and item_size(item) > target:
        joint_encoding = _with_headers(encoding)
        joint = _packed(_headers_json(headers) + "\n" + payload, dictionary)
        replaced = item_size({name: item[name] for name in ("payload", "payloadEncoding", "headers") if name in item})
        if len(joint) + len("payload") + len("payloadEncoding") + len(joint_encoding) < replaced:
            item["payload"] = {"B": joint}
            item["payloadEncoding"] = {"S": joint_encoding}
            del item["headers"]


def stored_payload_and_headers(item: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The payload text of a stored webhook item, exactly as received, and its request headers,
    whatever their encodings (a value that holds both is inflated once).

    An encoding this code does not know is an error, never an empty or garbled payload: a replay
    or a re-verification must get the original bytes or nothing.
    """
    value = item.get("payload", {})
    encoding = item.get("payloadEncoding", {}).get("S")
    if encoding is None:
        return str(value.get("S", "")), _separate_headers(item)
    dictionary, with_headers = _payload_format(encoding)
    text = _unpacked(value, dictionary)
    if not with_headers:
        return text, _separate_headers(item)
    headers_json, separator, payload = text.partition("\n")
    if not separator:
        raise ValueError(f"a {encoding!r} value without its headers")
    return payload, _headers_from_json(headers_json)


def stored_payload(item: Mapping[str, Any]) -> str:
    """The payload text of a stored webhook item, exactly as received (:func:`stored_payload_and_headers`)."""
    return stored_payload_and_headers(item)[0]


def stored_headers(item: Mapping[str, Any]) -> dict[str, str]:
    """The request headers of a stored webhook item, whatever their encoding (:func:`stored_payload_and_headers`)."""
    encoding = item.get("payloadEncoding", {}).get("S")
    if encoding is not None and _payload_format(encoding)[1]:
        return stored_payload_and_headers(item)[1]
    return _separate_headers(item)


def _headers_from_json(text: str) -> dict[str, str]:
    headers = json.loads(text)
    return {str(name): str(value) for name, value in headers.items()}


def _separate_headers(item: Mapping[str, Any]) -> dict[str, str]:
    """The ``headers`` attribute: a map of strings, or (``headersEncoding`` ``zlib-json``) compressed."""
    value = item.get("headers", {})
    encoding = item.get("headersEncoding", {}).get("S")
    if encoding is None:
        return {name: str(entry.get("S", "")) for name, entry in value.get("M", {}).items()}
    if encoding != HEADERS_ENCODING_ZLIB_JSON:
        raise ValueError(f"unknown headersEncoding {encoding!r}")
    return _headers_from_json(_unpacked(value))
