"""Issue #16: a record over one write unit stores its payload (then its headers) compressed, and
every reader gets the original text back, byte for byte."""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.calls import dynamodb_item_bytes
from chalicelib.webhooks import dictionaries
from chalicelib.webhooks.encoding import (
    FINAL_UPDATE_HEADROOM_BYTES,
    WRITE_UNIT_BYTES,
    stored_digest,
    stored_headers,
    stored_payload,
)
from chalicelib.webhooks.record import WebhookRecord, payload_digest, received_item

HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "x-forwarded-for": "54.187.174.169",
    "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
    "via": "1.1 0123456789abcdef.cloudfront.net (CloudFront)",
    "cloudfront-viewer-country": "US",
}


def _event(size: int) -> str:
    """A JSON body of about ``size`` bytes, with the repetition real provider events have, and
    characters that must survive: non-ASCII, escapes, a trailing newline."""
    document: dict[str, Any] = {"id": "evt_1", "type": "payment_intent.succeeded", "note": "Zahlung für Bestellung ✓"}
    index = 0
    while len(json.dumps(document)) < size:
        document[f"field_{index}"] = {"object": "charge", "amount": 1000 + index, "currency": "eur", "livemode": False}
        index += 1
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _item(payload: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return received_item(
        "wh_" + "a" * 32, "stripe", "stripe", "evt_1", "payment_intent.succeeded", payload,
        "2026-12-01T11:00:00.000000Z", 1_790_000_000,
        headers=HEADERS if headers is None else headers, answer="200 accepted",
    )


def test_a_record_within_one_write_unit_is_stored_as_plain_text() -> None:
    payload = _event(200)
    item = _item(payload, headers={})
    assert item["payload"] == {"S": payload} and "payloadEncoding" not in item
    assert dynamodb_item_bytes(item) <= WRITE_UNIT_BYTES


@pytest.mark.parametrize("size", [900, 1_600, 2_400])
def test_a_record_over_one_write_unit_is_compressed_into_one(size: int) -> None:
    payload = _event(size)
    plain = dynamodb_item_bytes({**_item(payload), "payload": {"S": payload}, "headers": {"M": {
        name: {"S": value} for name, value in HEADERS.items()}}})
    assert plain > WRITE_UNIT_BYTES  # the case this is about
    item = _item(payload)
    # Stripe has a preset dictionary (tests/unit/webhooks/test_record_dictionaries.py); plain zlib
    # is what the records written before it have. The largest also carries its headers in the
    # payload's compressed value, to stay within one unit with the final update's headroom.
    assert item["payloadEncoding"]["S"] in ("zlib-dict:stripe-1", "zlib-dict+headers:stripe-1")
    assert ("headers" in item) == (item["payloadEncoding"]["S"] == "zlib-dict:stripe-1")
    assert stored_payload(item) == payload and stored_headers(item) == HEADERS
    assert dynamodb_item_bytes(item) <= WRITE_UNIT_BYTES - FINAL_UPDATE_HEADROOM_BYTES


def test_every_reader_gets_the_original_payload_and_headers_back() -> None:
    # Ids and digests compress badly: the payload alone does not bring this one under a unit.
    ids = {f"id_{n}": hashlib.sha256(str(n).encode()).hexdigest() for n in range(14)}
    payload = _event(800)[:-2] + ", " + json.dumps(ids)[1:] + "\n"
    item = _item(payload)
    # Both compressed at this size, in one value: the headers, a newline, the payload.
    assert "B" in item["payload"] and "headers" not in item and "headersEncoding" not in item
    assert item["payloadEncoding"] == {"S": "zlib-dict+headers:stripe-1"}
    record = WebhookRecord.from_item(item)
    assert record.payload == payload and stored_payload(item) == payload
    assert record.headers == HEADERS == stored_headers(item)
    # The digest (what re-verification and the dedupe markers compare) is that of the original text.
    assert stored_digest(item) == payload_digest(payload) == bytes(item["payloadSha256"]["B"]).hex()
    # A record read back and written again (the bench, a migration) encodes the same way.
    assert WebhookRecord.from_item(record.to_item()).payload == payload


def test_a_payload_that_does_not_compress_stays_plain() -> None:
    noise = zlib.compress(bytes(range(256)) * 8).hex()[:1500]  # hex of compressed bytes: little redundancy
    item = _item(noise, headers={})
    if "payloadEncoding" in item:
        assert len(item["payload"]["B"]) < len(noise)
    assert WebhookRecord.from_item(item).payload == noise


def test_an_unknown_encoding_is_an_error_not_a_garbled_payload() -> None:
    item = {**_item(_event(1_800)), "payloadEncoding": {"S": "brotli"}}
    with pytest.raises(ValueError, match="payloadEncoding"):
        WebhookRecord.from_item(item)
    item = {**_item(_event(200)), "headersEncoding": {"S": "brotli"}}  # headers of their own
    with pytest.raises(ValueError, match="headersEncoding"):
        stored_headers(item)


def test_headers_in_the_payloads_value_come_back_exactly_whatever_they_hold() -> None:
    # Newlines, quotes and non-ASCII in header values: compact JSON escapes the newline, so the
    # first newline in the value is always the separator, and the payload keeps its own.
    headers = {**HEADERS, "x-note": 'line one\nline "two" \u00fcber \u2713', "x-empty": ""}
    ids = {f"id_{n}": hashlib.sha256(str(n).encode()).hexdigest() for n in range(14)}
    payload = "\n" + _event(800)[:-2] + ", " + json.dumps(ids)[1:] + "\n\n"
    item = _item(payload, headers=headers)
    assert item["payloadEncoding"] == {"S": "zlib-dict+headers:stripe-1"}
    record = WebhookRecord.from_item(item)
    assert (record.payload, record.headers) == (payload, headers)
    assert (stored_payload(item), stored_headers(item)) == (payload, headers)
    assert WebhookRecord.from_item(record.to_item()) == record


def test_a_provider_without_a_dictionary_packs_headers_with_plain_zlib() -> None:
    ids = {f"id_{n}": hashlib.sha256(str(n).encode()).hexdigest() for n in range(16)}
    payload = json.dumps(ids)
    item = received_item("wh_" + "a" * 32, "standard", "standard", "msg_1", "payment.succeeded", payload,
                         "2026-12-01T11:00:00.000000Z", 1_790_000_000, headers=HEADERS, answer="200 accepted")
    assert item["payloadEncoding"] == {"S": "zlib+headers"} and "headers" not in item
    assert (stored_payload(item), stored_headers(item)) == (payload, HEADERS)


@pytest.mark.parametrize("encoding", ["zlib+headers", "zlib-dict+headers:stripe-1"])
def test_a_value_said_to_hold_headers_but_without_them_is_an_error(encoding: str) -> None:
    dictionary = None if encoding == "zlib+headers" else "stripe-1"
    item = {"payload": {"B": dictionaries.compress(b'{"no":"separator"}', dictionary)},
            "payloadEncoding": {"S": encoding}}
    with pytest.raises(ValueError, match="without its headers"):
        stored_payload(item)


@pytest.mark.parametrize("encoding", ["zlib-dict:", "zlib-dict+headers:", "zlib+headerz", "zlib-json", "gzip"])
def test_malformed_payload_encodings_are_refused(encoding: str) -> None:
    item = {**_item(_event(1_800)), "payloadEncoding": {"S": encoding}}
    with pytest.raises(ValueError, match="payloadEncoding"):
        WebhookRecord.from_item(item)


@settings(max_examples=150, deadline=None)
@given(payload=st.text(max_size=2_500),
       headers=st.dictionaries(st.text(min_size=1, max_size=30), st.text(max_size=200), max_size=12),
       provider=st.sampled_from(["stripe", "paypal", "standard"]))
def test_arbitrary_headers_and_payloads_round_trip_in_whatever_encoding_they_get(
    payload: str, headers: dict[str, str], provider: str
) -> None:
    item = received_item("wh_" + "a" * 32, provider, provider, "evt_1", "t", payload,
                         "2026-12-01T11:00:00.000000Z", 1_790_000_000, headers=headers)
    assert (stored_payload(item), stored_headers(item)) == (payload, headers)
    record = WebhookRecord.from_item(item)
    assert (record.payload, record.headers) == (payload, headers)
