"""Razorpay provider: ``X-Razorpay-Signature`` (hex HMAC-SHA256 of the raw body), the event id in
``x-razorpay-event-id``. Cross-checked against the official SDK (``razorpay.Utility``, test-only)
and its published test vector (tests/fixtures/razorpay/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import razorpay
from hypothesis import given
from hypothesis import strategies as st
from razorpay.errors import SignatureVerificationError

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload, MissingHeader
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.razorpay import PROVIDER
from chalicelib.providers.razorpay.signature import compute_signature
from ops import samples as catalog
from providers_tooling import razorpay as tooling

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "razorpay"
# The SDK's own test vector (razorpay-python tests/test_client_utility.py).
SDK_SECRET = "key_secret"
SDK_SIGNATURE = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"
SECRET = tooling.TEST_SECRET
EVENT_ID = "KMjHCB3XJhDSx7"
NOW = 1_700_000_000.0
utility = razorpay.Utility(None)


def sdk_body() -> bytes:
    return (FIXTURES / "fake_payment_authorized_webhook.json").read_bytes()  # as the SDK reads it


def source(*secrets: str) -> SourceConfig:
    return SourceConfig("razorpay", "razorpay", secrets or (SECRET,))


def headers_for(body: bytes, secret: str = SECRET, event_id: str = EVENT_ID) -> dict[str, str]:
    return {key.lower(): value for key, value in tooling.signed_headers(body, secret, event_id).items()}


def sample_body(name: str = "payment.captured") -> bytes:
    return json.dumps(catalog.build("razorpay", name).document, separators=(",", ":")).encode()


def test_the_sdks_published_delivery_verifies() -> None:
    # GIVEN Razorpay's own signed test event (with an event id header, which the SDK never sees)
    body = sdk_body()
    headers = {"x-razorpay-signature": SDK_SIGNATURE, "x-razorpay-event-id": EVENT_ID}

    # WHEN verified with its secret THEN one event, id from the header, type from the body
    [event] = PROVIDER.verify(body, headers, source(SDK_SECRET), NOW)
    assert (event.event_id, event.event_type) == (EVENT_ID, "payment.authorized")
    assert event.payload == body.decode()
    assert utility.verify_webhook_signature(body.decode(), SDK_SIGNATURE, SDK_SECRET) is True
    assert compute_signature(SDK_SECRET, body) == SDK_SIGNATURE


def test_the_sdks_delivery_with_another_secret_is_refused_by_both() -> None:
    headers = {"x-razorpay-signature": SDK_SIGNATURE, "x-razorpay-event-id": EVENT_ID}
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(sdk_body(), headers, source("another_secret"), NOW)
    with pytest.raises(SignatureVerificationError):
        utility.verify_webhook_signature(sdk_body().decode(), SDK_SIGNATURE, "another_secret")


@given(secret=st.text(min_size=1, max_size=40).filter(str.strip), tamper=st.booleans(),
       name=st.sampled_from(catalog.sample_names("razorpay")))
def test_our_verifier_agrees_with_the_sdk(secret: str, tamper: bool, name: str) -> None:
    # GIVEN a sample signed by the sender with some secret, maybe altered afterwards
    body = sample_body(name)
    headers = headers_for(body, secret)
    if tamper:
        body = body.replace(b'"amount":', b'"amount":1', 1)

    # WHEN both verify it THEN they agree
    try:
        ours = bool(PROVIDER.verify(body, headers, source(secret), NOW))
    except InvalidSignature:
        ours = False
    try:
        theirs = utility.verify_webhook_signature(body.decode(), headers["x-razorpay-signature"], secret)
    except SignatureVerificationError:
        theirs = False
    assert ours == theirs == (not tamper)


def test_the_event_id_is_the_header_so_a_retry_has_the_same_id() -> None:
    body = sample_body()
    first = PROVIDER.verify(body, headers_for(body), source(), NOW)
    retry = PROVIDER.verify(body, headers_for(body), source(), NOW + 3600)  # no time is signed
    assert [e.event_id for e in first] == [e.event_id for e in retry] == [EVENT_ID]


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    body = sample_body()
    for secret in ("old-secret", SECRET):
        assert PROVIDER.verify(body, headers_for(body, secret), source("old-secret", SECRET), NOW)


@pytest.mark.parametrize("missing", ["x-razorpay-signature", "x-razorpay-event-id"])
def test_a_missing_header_is_named(missing: str) -> None:
    body = sample_body()
    headers = headers_for(body)
    headers[missing] = " "
    with pytest.raises(MissingHeader, match=missing):
        PROVIDER.verify(body, headers, source(), NOW)


def test_a_signature_in_another_case_or_encoding_is_refused_like_the_sdk_does() -> None:
    body = sample_body()
    signature = compute_signature(SECRET, body)
    for received in (signature.upper(), signature[:-1], "é" + signature[1:]):
        with pytest.raises(InvalidSignature):
            PROVIDER.verify(body, {"x-razorpay-signature": received, "x-razorpay-event-id": EVENT_ID}, source(), NOW)


@pytest.mark.parametrize("body", [b'{"entity": "event"}', b'{"event": ""}', b"[1]", b"not json"])
def test_a_signed_body_without_an_event_type_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body, headers_for(body), source(), NOW)


def test_a_blank_secret_is_a_configuration_error() -> None:
    body = sample_body()
    with pytest.raises(ConfigurationError):
        PROVIDER.verify(body, headers_for(body, " "), source(" "), NOW)


def test_the_registry_finds_the_provider_and_its_contract() -> None:
    assert get_provider("razorpay") is PROVIDER
    assert PROVIDER.signature_headers == ("x-razorpay-signature",)
    assert PROVIDER.acknowledgement is None
