"""GoCardless provider: ``Webhook-Signature`` (hex HMAC-SHA256 of the raw body), several events per
delivery. Cross-checked against the official SDK (``gocardless_pro.webhooks.parse``, test-only)
and its published test vector (tests/fixtures/gocardless/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gocardless_pro import webhooks
from gocardless_pro.errors import InvalidSignatureError
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload, MissingHeader
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.gocardless import PROVIDER
from chalicelib.providers.gocardless.signature import compute_signature
from ops import samples as catalog
from providers_tooling import gocardless as tooling
from providers_tooling.gocardless.samples import delivery_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gocardless"
# The SDK's own test vector (gocardless-pro-python tests/webhooks_test.py).
SDK_KEY = "ED7D658C-D8EB-4941-948B-3973214F2D49"
SDK_SIGNATURE = "2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e"
SECRET = tooling.TEST_SECRET
NOW = 1_700_000_000.0


def sdk_body() -> bytes:
    return (FIXTURES / "webhook_body.json").read_bytes().strip()  # as the SDK's test reads it


def source(*secrets: str) -> SourceConfig:
    return SourceConfig("gocardless", "gocardless", secrets or (SECRET,))


def headers_for(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {key.lower(): value for key, value in tooling.signed_headers(body, secret).items()}


def sample_body(*names: str) -> bytes:
    built = delivery_of(*(catalog.build("gocardless", name) for name in names))
    return json.dumps(built.document, separators=(",", ":")).encode()


def test_the_sdks_published_delivery_verifies_and_splits_into_its_two_events() -> None:
    # GIVEN GoCardless's own signed test delivery
    body = sdk_body()

    # WHEN verified with its key
    events = PROVIDER.verify(body, {"webhook-signature": SDK_SIGNATURE}, source(SDK_KEY), NOW)

    # THEN both events come out, in order, each with its id and resource_type.action; the SDK agrees
    assert [(e.event_id, e.event_type) for e in events] == [
        ("EV00BD05S5VM2T", "subscriptions.created"),
        ("EV00BD05TB8K63", "mandates.created"),
    ]
    assert [json.loads(e.payload) for e in events] == json.loads(body)["events"]
    assert [e.id for e in webhooks.parse(body, SDK_KEY, SDK_SIGNATURE)] == [e.event_id for e in events]
    assert compute_signature(SDK_KEY, body) == SDK_SIGNATURE


def test_each_event_is_stored_as_the_text_it_was_sent_as() -> None:
    # GIVEN the SDK's delivery as GoCardless writes it (spaces after separators), with a non-ASCII
    # description added the way a sender writes UTF-8 (not as \u escapes)
    document = json.loads(sdk_body())
    document["events"][0]["details"]["description"] = "Abonnement créé – 10 €"
    body = json.dumps(document, ensure_ascii=False, indent=1).encode()

    # WHEN verified
    events = PROVIDER.verify(body, headers_for(body), source(), NOW)

    # THEN each payload is a slice of the signed body, byte for byte: nothing re-encoded, nothing grown
    text = body.decode()
    for event, original in zip(events, document["events"], strict=True):
        assert event.payload in text and json.loads(event.payload) == original
    assert "créé – 10 €" in events[0].payload


def test_the_sdks_delivery_with_another_key_is_refused_by_both() -> None:
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(sdk_body(), {"webhook-signature": SDK_SIGNATURE}, source("anotherkey"), NOW)
    with pytest.raises(InvalidSignatureError):
        webhooks.parse(sdk_body(), "anotherkey", SDK_SIGNATURE)


@given(secret=st.text(min_size=1, max_size=40).filter(str.strip), tamper=st.booleans(),
       event_count=st.integers(min_value=1, max_value=4))
def test_our_verifier_agrees_with_the_sdk(secret: str, tamper: bool, event_count: int) -> None:
    # GIVEN a delivery signed by the sender with some secret, maybe altered afterwards
    body = sample_body(*["payments.confirmed"] * event_count)
    headers = headers_for(body, secret)
    if tamper:
        body = body.replace(b'"confirmed"', b'"failed"', 1)

    # WHEN both verify it THEN they agree: accepted with the same events, or refused
    try:
        ours = [e.event_id for e in PROVIDER.verify(body, headers, source(secret), NOW)]
    except InvalidSignature:
        ours = None
    try:
        theirs = [e.id for e in webhooks.parse(body, secret, headers["webhook-signature"])]
    except InvalidSignatureError:
        theirs = None
    assert ours == theirs
    assert (ours is None) is tamper


def test_every_event_of_a_delivery_is_its_own_inbound_event() -> None:
    body = sample_body("payments.created", "payments.submitted", "mandates.active")
    events = PROVIDER.verify(body, headers_for(body), source(), NOW)
    document = json.loads(body)
    assert [e.event_id for e in events] == [event["id"] for event in document["events"]]
    assert [e.event_type for e in events] == ["payments.created", "payments.submitted", "mandates.active"]


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    body = sample_body("payments.created")
    for secret in ("old-secret", SECRET):
        assert PROVIDER.verify(body, headers_for(body, secret), source("old-secret", SECRET), NOW)


@pytest.mark.parametrize("signature", ["", "   ", None])
def test_a_missing_signature_header_is_named(signature: str | None) -> None:
    body = sample_body("payments.created")
    headers = {} if signature is None else {"webhook-signature": signature}
    with pytest.raises(MissingHeader, match="webhook-signature"):
        PROVIDER.verify(body, headers, source(), NOW)


def test_a_signature_in_another_case_or_encoding_is_refused_like_the_sdk_does() -> None:
    body = sample_body("payments.created")
    signature = compute_signature(SECRET, body)
    for received in (signature.upper(), signature + "0", "é" + signature[1:]):
        with pytest.raises(InvalidSignature):
            PROVIDER.verify(body, {"webhook-signature": received}, source(), NOW)


@pytest.mark.parametrize(
    "document",
    [{"events": []}, {"events": {}}, {"meta": {}}, {"events": ["EV1"]},
     {"events": [{"resource_type": "payments", "action": "created"}]},
     {"events": [{"id": "EV1", "action": "created"}]}],
)
def test_a_signed_body_without_readable_events_is_malformed(document: dict) -> None:
    body = json.dumps(document).encode()
    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body, headers_for(body), source(), NOW)


def test_a_blank_secret_is_a_configuration_error() -> None:
    body = sample_body("payments.created")
    with pytest.raises(ConfigurationError):
        PROVIDER.verify(body, headers_for(body, " "), source(" "), NOW)


def test_the_registry_finds_the_provider_and_its_contract() -> None:
    assert get_provider("gocardless") is PROVIDER
    assert PROVIDER.signature_headers == ("webhook-signature",)
    assert PROVIDER.acknowledgement is None  # GoCardless takes any 2xx: the JSON answer serves
