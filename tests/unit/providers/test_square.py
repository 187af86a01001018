"""Square signature verification, cross-checked against the squareup SDK's verify_signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from square.utils.webhooks_helper import verify_signature

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload, MissingHeader
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.square import PROVIDER
from chalicelib.providers.square.signature import compute_signature

NOW = 1_767_225_600.0  # Square signs no timestamp: the clock must not matter
URL = "https://hooks.example.com/webhook/square"
KEY = "7kQ2vX9pL4mN8rT1wY6zB3cF"
OLD_KEY = "a0OldSquareSigKey5Xw9Ty2"
OTHER_KEY = "zz9NotOurKey0aB1cD2eF3gH"

PAYMENT_UPDATED = json.dumps(
    {
        "merchant_id": "6SSW7HV8K2ST5",
        "type": "payment.updated",
        "event_id": "13b867cf-db3d-4b1c-90b6-2f32a9d78124",
        "created_at": "2026-01-01T00:00:00.000Z",
        "data": {
            "type": "payment",
            "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
            "object": {
                "payment": {
                    "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
                    "amount_money": {"amount": 2500, "currency": "USD"},
                    "total_money": {"amount": 2500, "currency": "USD"},
                    "approved_money": {"amount": 2500, "currency": "USD"},
                    "card_details": {"status": "CAPTURED", "card": {"card_brand": "VISA"}},
                    "location_id": "L88917AVBK2S5",
                    "order_id": "1JLEUZeEooAIX8HMqm9kvWd69aQZY",
                    "source_type": "CARD",
                    "status": "COMPLETED",
                    "updated_at": "2026-01-01T00:00:00.000Z",
                    "version": 2,
                }
            },
        },
    },
    separators=(",", ":"),
).encode("utf-8")


def source(*keys: str, url: str | None = URL) -> SourceConfig:
    options = {} if url is None else {"notificationUrl": url}
    return SourceConfig(name="square", provider="square", secrets=keys or (KEY,), options=options)


def sign(raw: bytes, key: str = KEY, url: str = URL) -> dict[str, str]:
    """Headers as Square sends them, signed independently of the module under test."""
    digest = hmac.new(key.encode("utf-8"), url.encode("utf-8") + raw, hashlib.sha256).digest()
    return {"x-square-hmacsha256-signature": base64.b64encode(digest).decode("ascii")}


def square_sdk_accepts(raw: bytes, headers: dict[str, str], key: str = KEY, url: str = URL) -> bool:
    return verify_signature(
        request_body=raw.decode("utf-8"),
        signature_header=headers["x-square-hmacsha256-signature"],
        signature_key=key,
        notification_url=url,
    )


# --- valid deliveries -------------------------------------------------------------------------


def test_valid_delivery_yields_the_event() -> None:
    """GIVEN a payment.updated notification signed with our key and registered URL
    WHEN it is verified
    THEN one event comes back with Square's event_id, its type and the body verbatim,
    and the squareup SDK accepts the same delivery."""
    headers = sign(PAYMENT_UPDATED)

    events = PROVIDER.verify(PAYMENT_UPDATED, headers, source(), NOW)

    assert [(e.event_id, e.event_type) for e in events] == [
        ("13b867cf-db3d-4b1c-90b6-2f32a9d78124", "payment.updated")
    ]
    assert events[0].payload == PAYMENT_UPDATED.decode("utf-8")
    assert square_sdk_accepts(PAYMENT_UPDATED, headers)


def test_known_answer_from_the_square_sdk_tests() -> None:
    """GIVEN the Square-signed test notification from square-python-sdk's own tests
    (tests/integration/test_webhooks_helper.py)
    WHEN it is verified with that key and URL
    THEN it passes and yields Square's event id."""
    body = (
        b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
        b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
        b'"created_at":"2022-07-13T20:30:59.037339943Z",'
        b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
    )
    headers = {"x-square-hmacsha256-signature": "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="}
    url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"

    events = PROVIDER.verify(body, headers, source("Ibxx_5AKakO-3qeNVR61Dw", url=url), NOW)

    assert events[0].event_id == "ac3ac95b-f97d-458c-a6e6-18981597e05f"
    assert events[0].event_type == "webhooks.test_notification"


def test_known_answer_from_squares_documentation() -> None:
    """GIVEN Square's documented example (key asdf1234, https://example.com/webhook, hello world)
    WHEN we compute its signature
    THEN it is the documented value."""
    assert (
        compute_signature("asdf1234", "https://example.com/webhook", b'{"hello":"world"}')
        == "2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og="
    )


def test_signature_is_checked_before_the_body_is_read() -> None:
    """GIVEN Square's documented example, correctly signed but not an event (no event_id)
    WHEN it is verified
    THEN the signature passes and the body is reported malformed, not forged."""
    headers = {"x-square-hmacsha256-signature": "2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og="}
    documented = source("asdf1234", url="https://example.com/webhook")

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(b'{"hello":"world"}', headers, documented, NOW)


def test_the_clock_does_not_matter() -> None:
    """GIVEN a valid delivery WHEN it is verified years later THEN it passes (no timestamp)."""
    assert PROVIDER.verify(PAYMENT_UPDATED, sign(PAYMENT_UPDATED), source(), NOW + 10**8)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signing_key", [KEY, OLD_KEY])
def test_rotation_accepts_every_configured_key(signing_key: str) -> None:
    """GIVEN a source holding the new and the old signature key
    WHEN a delivery is signed with either
    THEN it verifies."""
    events = PROVIDER.verify(
        PAYMENT_UPDATED, sign(PAYMENT_UPDATED, key=signing_key), source(KEY, OLD_KEY), NOW
    )

    assert events[0].event_type == "payment.updated"


def test_rotation_rejects_a_key_not_in_the_list() -> None:
    """GIVEN a source with two keys WHEN a delivery is signed with a third THEN it is rejected."""
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(
            PAYMENT_UPDATED, sign(PAYMENT_UPDATED, key=OTHER_KEY), source(KEY, OLD_KEY), NOW
        )


# --- forged or damaged deliveries -------------------------------------------------------------


def test_tampered_body_is_rejected() -> None:
    """GIVEN a signed delivery whose amount was changed in transit
    WHEN it is verified
    THEN it is an invalid signature, and the SDK agrees."""
    headers = sign(PAYMENT_UPDATED)
    tampered = PAYMENT_UPDATED.replace(b'"amount":2500', b'"amount":25', 1)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(tampered, headers, source(), NOW)
    assert not square_sdk_accepts(tampered, headers)


def test_wrong_key_is_rejected() -> None:
    """GIVEN a delivery signed with a key we do not hold WHEN it is verified THEN it is rejected."""
    headers = sign(PAYMENT_UPDATED, key=OTHER_KEY)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_UPDATED, headers, source(), NOW)
    assert not square_sdk_accepts(PAYMENT_UPDATED, headers)


@pytest.mark.parametrize(
    "signed_url",
    [
        "https://hooks.example.com/webhook/square/",  # trailing slash
        "http://hooks.example.com/webhook/square",  # scheme
        "https://hooks.example.com/api/webhook/square",  # stage or base path
        "https://hooks.example.com/webhook/square?x=1",  # query
    ],
)
def test_url_must_match_the_configured_one_byte_for_byte(signed_url: str) -> None:
    """GIVEN a delivery signed for a URL that differs from the configured one by a detail
    WHEN it is verified
    THEN it is rejected: the URL is part of what is signed."""
    headers = sign(PAYMENT_UPDATED, url=signed_url)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_UPDATED, headers, source(), NOW)
    assert not square_sdk_accepts(PAYMENT_UPDATED, headers)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"x-square-hmacsha256-signature": " "}, id="blank"),
        pytest.param({"x-square-signature": "c2hhMS1zaWduYXR1cmU="}, id="legacy-sha1-only"),
    ],
)
def test_missing_header_is_reported_as_missing(headers: dict[str, str]) -> None:
    """GIVEN a delivery without the HMAC-SHA256 header (possibly with only the legacy SHA-1 one)
    WHEN it is verified
    THEN it is a missing header: the SHA-1 scheme is never accepted."""
    with pytest.raises(MissingHeader):
        PROVIDER.verify(PAYMENT_UPDATED, headers, source(), NOW)


def test_legacy_sha1_signature_in_the_sha256_header_is_rejected() -> None:
    """GIVEN a correct legacy HMAC-SHA1 signature sent under the SHA-256 header name
    WHEN it is verified
    THEN it is an invalid signature."""
    sha1 = hmac.new(KEY.encode(), URL.encode() + PAYMENT_UPDATED, hashlib.sha1).digest()
    headers = {"x-square-hmacsha256-signature": base64.b64encode(sha1).decode()}

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_UPDATED, headers, source(), NOW)


def _good() -> str:
    return sign(PAYMENT_UPDATED)["x-square-hmacsha256-signature"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param(_good()[:-2], id="truncated"),
        pytest.param(_good().rstrip("="), id="unpadded"),
        pytest.param(base64.b64decode(_good()).hex(), id="hex-instead-of-base64"),
        pytest.param(f"{_good()},{_good()}", id="two-values"),
        pytest.param("sha256=" + _good(), id="prefixed"),
        pytest.param(_good()[:-2] + "é=", id="non-ascii"),
    ],
)
def test_garbled_header_is_an_invalid_signature(value: str) -> None:
    """GIVEN a signature header that is not exactly the base64 signature
    WHEN it is verified
    THEN it is an invalid signature."""
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_UPDATED, {"x-square-hmacsha256-signature": value}, source(), NOW)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff not utf-8", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"type":"payment.updated"}', id="no-event-id"),
        pytest.param(b'{"event_id":"e1"}', id="no-type"),
    ],
)
def test_signed_but_malformed_body_is_malformed(body: bytes) -> None:
    """GIVEN a correctly signed body that is not a Square event
    WHEN it is verified
    THEN it is malformed."""
    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body, sign(body), source(), NOW)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, ""])
def test_missing_notification_url_is_a_configuration_error(url: str | None) -> None:
    """GIVEN a Square source without its notificationUrl option
    WHEN a delivery arrives
    THEN it is a configuration error (503 and retried), never guessed from the request."""
    with pytest.raises(ConfigurationError):
        PROVIDER.verify(PAYMENT_UPDATED, sign(PAYMENT_UPDATED), source(url=url), NOW)


def test_blank_key_is_a_configuration_error() -> None:
    """GIVEN a source whose only key is blank WHEN a delivery arrives THEN it is misconfigured."""
    with pytest.raises(ConfigurationError):
        PROVIDER.verify(PAYMENT_UPDATED, sign(PAYMENT_UPDATED, key=""), source(""), NOW)


# --- classification and registry --------------------------------------------------------------



def test_registry_finds_the_provider() -> None:
    """GIVEN the registry WHEN 'square' is looked up THEN this module's PROVIDER is returned."""
    assert get_provider("square") is PROVIDER
    assert PROVIDER.name == "square"
