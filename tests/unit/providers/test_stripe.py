"""Stripe signature verification, cross-checked against stripe-python (test-only dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import stripe

from chalicelib.errors import (
    ConfigurationError,
    InvalidSignature,
    MalformedPayload,
    MissingHeader,
    SignatureExpired,
)
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.stripe import PROVIDER
from chalicelib.providers.stripe.signature import compute_signature, parse_signature_header

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, the pinned clock
SECRET = "whsec_3f9dPq7LmN2xR8vT1kY6bZ4cW0aE5sJh"
OLD_SECRET = "whsec_old0Ke1Rot2ate3Me4Soon5Plz6Xyz7"
OTHER_SECRET = "whsec_notOurs9Q8w7E6r5T4y3U2i1O0pAsD"

# Stripe sends its events pretty-printed; the signature covers these exact bytes.
PAYMENT_INTENT_SUCCEEDED = json.dumps(
    {
        "id": "evt_3QxYz2LkdIwHu7ix0T5n4Abc",
        "object": "event",
        "api_version": "2024-06-20",
        "created": NOW - 2,
        "data": {
            "object": {
                "id": "pi_3QxYz2LkdIwHu7ix0Xk1Lmn",
                "object": "payment_intent",
                "amount": 2000,
                "amount_received": 2000,
                "currency": "eur",
                "customer": "cus_R4nd0mCust0m3r",
                "latest_charge": "ch_3QxYz2LkdIwHu7ix0Qw9Rst",
                "livemode": False,
                "metadata": {"order_id": "ord_1042"},
                "payment_method": "pm_1QxYz1LkdIwHu7ixVbN3Opq",
                "status": "succeeded",
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_8fH2kLmN0pQr", "idempotency_key": "a1b2c3d4-e5f6"},
        "type": "payment_intent.succeeded",
    },
    indent=2,
).encode("utf-8")


def source(*secrets: str, tolerance: int = 300) -> SourceConfig:
    return SourceConfig(
        name="stripe", provider="stripe", secrets=secrets or (SECRET,), tolerance_seconds=tolerance
    )


def signed_headers(payload: bytes, secret: str = SECRET, timestamp: int = NOW) -> dict[str, str]:
    """Headers as Stripe sends them, signed by stripe-python itself."""
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, timestamp=timestamp
    )
    return {"stripe-signature": header}


# --- valid deliveries -------------------------------------------------------------------------


def test_valid_delivery_yields_the_event() -> None:
    """GIVEN a payment_intent.succeeded event signed by stripe-python with our secret
    WHEN it is verified at the signing time
    THEN one event comes back with Stripe's event id, its type and the body verbatim."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED)

    events = PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), NOW)

    assert len(events) == 1
    assert events[0].event_id == "evt_3QxYz2LkdIwHu7ix0T5n4Abc"
    assert events[0].event_type == "payment_intent.succeeded"
    assert events[0].payload == PAYMENT_INTENT_SUCCEEDED.decode("utf-8")


def test_our_signature_is_the_one_stripe_python_computes() -> None:
    """GIVEN a body, a secret and a timestamp
    WHEN we compute the v1 signature and stripe-python generates its header
    THEN both carry the same hex digest (the key is the whsec_ text itself, not base64-decoded)."""
    header = stripe.WebhookSignature.generate_signature_header(
        PAYMENT_INTENT_SUCCEEDED.decode("utf-8"), SECRET, timestamp=NOW
    )

    assert header == f"t={NOW},v1={compute_signature(SECRET, NOW, PAYMENT_INTENT_SUCCEEDED)}"


def test_stripe_python_accepts_what_we_accept() -> None:
    """GIVEN a delivery signed now (stripe-python checks the tolerance against the real clock)
    WHEN both our verifier and stripe.Webhook.construct_event verify it
    THEN both accept it and agree on the event id and type."""
    now = int(time.time())
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, timestamp=now)

    ours = PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), now)
    theirs = stripe.Webhook.construct_event(
        PAYMENT_INTENT_SUCCEEDED.decode("utf-8"), headers["stripe-signature"], SECRET
    )

    assert (ours[0].event_id, ours[0].event_type) == (theirs.id, theirs.type)


def test_any_v1_entry_may_match_and_v0_is_ignored() -> None:
    """GIVEN a header from Stripe mid-roll: a v1 by another secret, a v1 by ours, and a v0
    WHEN it is verified with our secret
    THEN it passes, as it does in stripe-python."""
    good = compute_signature(SECRET, NOW, PAYMENT_INTENT_SUCCEEDED)
    other = compute_signature(OTHER_SECRET, NOW, PAYMENT_INTENT_SUCCEEDED)
    legacy = "6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    header = f"t={NOW},v1={other},v1={good},v0={legacy}"

    events = PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, {"stripe-signature": header}, source(), NOW)

    assert events[0].event_id == "evt_3QxYz2LkdIwHu7ix0T5n4Abc"
    stripe.WebhookSignature.verify_header(PAYMENT_INTENT_SUCCEEDED, header, SECRET, tolerance=None)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signing_secret", [SECRET, OLD_SECRET])
def test_rotation_accepts_every_configured_secret(signing_secret: str) -> None:
    """GIVEN a source that holds the new and the old secret while rotating
    WHEN a delivery is signed with either one
    THEN it verifies."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, secret=signing_secret)

    events = PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(SECRET, OLD_SECRET), NOW)

    assert events[0].event_type == "payment_intent.succeeded"


def test_rotation_rejects_a_secret_not_in_the_list() -> None:
    """GIVEN a source with two secrets
    WHEN a delivery is signed with a third one
    THEN it is an invalid signature."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, secret=OTHER_SECRET)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(SECRET, OLD_SECRET), NOW)


# --- forged or damaged deliveries -------------------------------------------------------------


def test_tampered_body_is_rejected() -> None:
    """GIVEN a validly signed delivery whose amount was changed in transit
    WHEN it is verified
    THEN it is an invalid signature (and stripe-python agrees)."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED)
    tampered = PAYMENT_INTENT_SUCCEEDED.replace(b'"amount": 2000', b'"amount": 2')

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(tampered, headers, source(), NOW)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(tampered, headers["stripe-signature"], SECRET)


def test_reserialised_body_is_rejected() -> None:
    """GIVEN a validly signed pretty-printed body
    WHEN the same JSON arrives re-serialised compactly
    THEN it fails: the raw bytes are what is signed, not the parsed document."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED)
    compact = json.dumps(json.loads(PAYMENT_INTENT_SUCCEEDED), separators=(",", ":")).encode()

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(compact, headers, source(), NOW)


def test_wrong_secret_is_rejected() -> None:
    """GIVEN a delivery signed with a secret we do not hold
    WHEN it is verified
    THEN it is an invalid signature."""
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(
            PAYMENT_INTENT_SUCCEEDED,
            signed_headers(PAYMENT_INTENT_SUCCEEDED, secret=OTHER_SECRET),
            source(),
            NOW,
        )


def test_base64_decoded_key_is_not_what_stripe_uses() -> None:
    """GIVEN a signature made with the base64 decoding of the secret (the Standard Webhooks way)
    WHEN it is verified as Stripe
    THEN it fails: Stripe keys with the whsec_ text itself."""
    encoded = SECRET.removeprefix("whsec_")
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    signed = f"{NOW}.".encode() + PAYMENT_INTENT_SUCCEEDED
    digest = hmac.new(key, signed, hashlib.sha256).hexdigest()

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(
            PAYMENT_INTENT_SUCCEEDED, {"stripe-signature": f"t={NOW},v1={digest}"}, source(), NOW
        )


@pytest.mark.parametrize("headers", [{}, {"stripe-signature": ""}, {"stripe-signature": "   "}])
def test_missing_header_is_reported_as_missing(headers: dict[str, str]) -> None:
    """GIVEN a delivery without a Stripe-Signature header (or a blank one)
    WHEN it is verified
    THEN it is a missing header, not a bad signature."""
    with pytest.raises(MissingHeader):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), NOW)


def _v1(timestamp: int = NOW) -> str:
    return compute_signature(SECRET, timestamp, PAYMENT_INTENT_SUCCEEDED)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("garbage", id="not-key-value"),
        pytest.param(f"v1={_v1()}", id="no-t"),
        pytest.param(f"t=,v1={_v1()}", id="empty-t"),
        pytest.param(f"t=abc,v1={_v1()}", id="non-integer-t"),
        pytest.param(f"t={NOW}.5,v1={_v1()}", id="fractional-t"),
        pytest.param(f"t=+{NOW},v1={_v1()}", id="signed-t"),
        pytest.param("t=1_767_225_600,v1=" + _v1(), id="underscored-t"),
        pytest.param(f"t={NOW}", id="no-v1"),
        pytest.param(f"t={NOW},v0={_v1()}", id="only-v0"),
        pytest.param(f"t={NOW},v2={_v1()}", id="unknown-scheme-only"),
        pytest.param(f"t={NOW},t={NOW - 1},v1={_v1()}", id="two-t"),
        pytest.param(f"t={NOW},v1=", id="empty-v1"),
        pytest.param(f"t={NOW},v1={_v1().upper()}", id="uppercase-hex"),
        pytest.param(f"t={NOW},v1={_v1()[:-1]}é", id="non-ascii-v1"),
    ],
)
def test_garbled_header_is_an_invalid_signature(header: str) -> None:
    """GIVEN a Stripe-Signature header that cannot be read or carries no usable v1 entry
    WHEN it is verified
    THEN it is an invalid signature (never a crash, never accepted)."""
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, {"stripe-signature": header}, source(), NOW)


@pytest.mark.parametrize(
    "header",
    ["t=abc,v1=00", "v1=00", "t=1"],
)
def test_parse_signature_header_refuses_unreadable_headers(header: str) -> None:
    """GIVEN an unreadable header THEN parsing alone raises InvalidSignature."""
    with pytest.raises(InvalidSignature):
        parse_signature_header(header)


def test_parse_signature_header_reads_every_v1() -> None:
    """GIVEN a header with two v1 entries and a v0 THEN both v1 values come back, in order."""
    assert parse_signature_header("t=12,v1=aa,v0=bb,v1=cc") == (12, ["aa", "cc"])


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamp_outside_tolerance_is_expired(offset: int) -> None:
    """GIVEN a validly signed delivery whose timestamp is 301 s (or a day) in the past or future
    WHEN it is verified at NOW with a 300 s tolerance
    THEN it is expired: old ones are replays, future ones are clock tricks."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, timestamp=NOW + offset)

    with pytest.raises(SignatureExpired):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_at_the_tolerance_edge_is_accepted(offset: int) -> None:
    """GIVEN a delivery exactly 300 s old or ahead THEN it is still inside the tolerance."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, timestamp=NOW + offset)

    assert PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), NOW)


def test_tolerance_comes_from_the_source() -> None:
    """GIVEN a source configured with a 600 s tolerance
    WHEN a delivery 500 s old arrives
    THEN it is accepted."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, timestamp=NOW - 500)

    assert PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(SECRET, tolerance=600), NOW)


def test_future_timestamp_is_rejected_although_stripe_python_allows_it() -> None:
    """GIVEN a delivery signed an hour in the future
    WHEN both verifiers check it
    THEN stripe-python (which only rejects old timestamps) accepts it and we do not."""
    future = int(time.time()) + 3600
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, timestamp=future)

    stripe.WebhookSignature.verify_header(
        PAYMENT_INTENT_SUCCEEDED, headers["stripe-signature"], SECRET, tolerance=300
    )
    with pytest.raises(SignatureExpired):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), future - 3600)


def test_expired_forgery_is_an_invalid_signature() -> None:
    """GIVEN an old delivery signed with a secret we do not hold
    WHEN it is verified
    THEN it is reported as an invalid signature: 'expired' is only said of authentic deliveries."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED, secret=OTHER_SECRET, timestamp=NOW - 3600)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(), NOW)


# --- payload ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b'{"type": "charge.succeeded"}', id="no-id"),
        pytest.param(b'{"id": "evt_1"}', id="no-type"),
        pytest.param(b'{"id": 42, "type": "charge.succeeded"}', id="id-not-string"),
        pytest.param(b'\xef\xbb\xbf{"id": "evt_1", "type": "charge.succeeded"}', id="bom"),
    ],
)
def test_signed_but_malformed_body_is_malformed(body: bytes) -> None:
    """GIVEN a correctly signed body that is not a Stripe event
    WHEN it is verified
    THEN the signature passes and the body is reported malformed."""
    headers = {"stripe-signature": f"t={NOW},v1={compute_signature(SECRET, NOW, body)}"}

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body, headers, source(), NOW)


def test_blank_secret_is_a_configuration_error() -> None:
    """GIVEN a source whose secret list holds a blank secret
    WHEN anything is verified
    THEN it is a configuration error: an empty HMAC key would let anyone sign."""
    headers = signed_headers(PAYMENT_INTENT_SUCCEEDED)

    with pytest.raises(ConfigurationError):
        PROVIDER.verify(PAYMENT_INTENT_SUCCEEDED, headers, source(" "), NOW)


# --- classification and registry --------------------------------------------------------------



def test_registry_finds_the_provider() -> None:
    """GIVEN the registry WHEN 'stripe' is looked up THEN this module's PROVIDER is returned."""
    assert get_provider("stripe") is PROVIDER
    assert PROVIDER.name == "stripe"
