"""Standard Webhooks verification, cross-checked against the standardwebhooks reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.errors import (
    ConfigurationError,
    InvalidSignature,
    MalformedPayload,
    MissingHeader,
    SignatureExpired,
)
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.standard import PROVIDER
from chalicelib.providers.standard.signature import compute_signature

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, the pinned clock
SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-0001").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-previous-key-being-rotated!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-elses-signing-key-0042").decode()
MSG_ID = "msg_2mE4Nq8rTz1Yx0bKpW7cVdLs3Hf"

PAYMENT_SUCCEEDED = json.dumps(
    {
        "type": "payment.succeeded",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {
            "payment_id": "pay_01JGX3M8Q2W5E7R9T1Y3U5I7O9",
            "amount": 4200,
            "currency": "EUR",
            "customer_id": "cus_01JGX3K2A4S6D8F0G2H4J6K8L0",
        },
    }
).encode("utf-8")


def source(*secrets: str, tolerance: int = 300) -> SourceConfig:
    return SourceConfig(
        name="standard",
        provider="standard",
        secrets=secrets or (SECRET,),
        tolerance_seconds=tolerance,
    )


def sign(
    raw: bytes,
    secret: str = SECRET,
    timestamp: int = NOW,
    msg_id: str = MSG_ID,
    prefix: str = "webhook",
) -> dict[str, str]:
    """Headers as a sender sends them, signed by the reference library."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, raw.decode("utf-8"))
    return {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(timestamp),
        f"{prefix}-signature": signature,
    }


# --- valid deliveries -------------------------------------------------------------------------


def test_valid_delivery_yields_the_event() -> None:
    """GIVEN a payment.succeeded message signed by the reference library
    WHEN it is verified at the signing time
    THEN one event comes back whose id is the webhook-id header, with the body's type and
    the body verbatim."""
    events = PROVIDER.verify(PAYMENT_SUCCEEDED, sign(PAYMENT_SUCCEEDED), source(), NOW)

    assert [(e.event_id, e.event_type) for e in events] == [(MSG_ID, "payment.succeeded")]
    assert events[0].payload == PAYMENT_SUCCEEDED.decode("utf-8")


def test_known_answer_vector_of_the_specification() -> None:
    """GIVEN the specification's test vector (secret whsec_MfKQ..., msg_p5jX..., 1614265330)
    WHEN it is verified at its own timestamp
    THEN it passes, our signature is the published one, and the body (which has no type)
    yields type "unknown"."""
    raw = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

    events = PROVIDER.verify(raw, headers, source(secret), 1614265330)

    assert compute_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, raw) == (
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    assert [(e.event_id, e.event_type) for e in events] == [
        ("msg_p5jXN8AQM9LWM0D4loKWxJek", "unknown")
    ]


def test_reference_library_accepts_what_we_accept() -> None:
    """GIVEN a message signed now (the reference library checks against the real clock)
    WHEN both verifiers check it
    THEN both accept it."""
    now = int(time.time())
    headers = sign(PAYMENT_SUCCEEDED, timestamp=now)

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), now)
    assert Webhook(SECRET).verify(PAYMENT_SUCCEEDED, headers)["type"] == "payment.succeeded"


def test_svix_header_spelling_is_accepted() -> None:
    """GIVEN a message from Svix, which names the headers svix-id, svix-timestamp, svix-signature
    WHEN it is verified
    THEN it passes with the svix-id as event id."""
    headers = sign(PAYMENT_SUCCEEDED, prefix="svix")

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)[0].event_id == MSG_ID


def test_secret_without_prefix_is_accepted() -> None:
    """GIVEN a secret configured without its whsec_ prefix THEN deliveries still verify."""
    unprefixed = SECRET.removeprefix("whsec_")

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, sign(PAYMENT_SUCCEEDED), source(unprefixed), NOW)


def test_ed25519_and_unknown_versions_are_skipped() -> None:
    """GIVEN a signature header with a v1a (ed25519) entry, an unknown v2 entry and our v1 entry
    WHEN it is verified
    THEN the v1 entry is found and the others ignored."""
    headers = sign(PAYMENT_SUCCEEDED)
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1a,{'A' * 86}== v2,{good[3:]} {good}"

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signing_secret", [SECRET, OLD_SECRET])
def test_rotation_accepts_every_configured_secret(signing_secret: str) -> None:
    """GIVEN a source holding the new and the old secret
    WHEN a message is signed with either
    THEN it verifies."""
    headers = sign(PAYMENT_SUCCEEDED, secret=signing_secret)

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(SECRET, OLD_SECRET), NOW)


def test_rotation_on_the_sender_side_sends_several_signatures() -> None:
    """GIVEN a sender rotating its key, signing with both (space-separated entries)
    WHEN we hold only one of them
    THEN it verifies."""
    old = sign(PAYMENT_SUCCEEDED, secret=OLD_SECRET)["webhook-signature"]
    headers = sign(PAYMENT_SUCCEEDED)
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(SECRET), NOW)


def test_rotation_rejects_a_secret_not_in_the_list() -> None:
    """GIVEN a source with two secrets WHEN a message is signed with a third THEN it is rejected."""
    headers = sign(PAYMENT_SUCCEEDED, secret=OTHER_SECRET)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(SECRET, OLD_SECRET), NOW)


# --- forged or damaged deliveries -------------------------------------------------------------


def test_tampered_body_is_rejected() -> None:
    """GIVEN a signed message whose amount was changed in transit
    WHEN it is verified
    THEN it is an invalid signature."""
    headers = sign(PAYMENT_SUCCEEDED)
    tampered = PAYMENT_SUCCEEDED.replace(b'"amount": 4200', b'"amount": 42')

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(tampered, headers, source(), NOW)


def test_replayed_under_another_id_is_rejected() -> None:
    """GIVEN a signed message resent with a new webhook-id to slip past deduplication
    WHEN it is verified
    THEN it is rejected: the id is signed."""
    headers = sign(PAYMENT_SUCCEEDED)
    headers["webhook-id"] = "msg_fresh_id_to_dodge_dedupe"

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


def test_restamped_old_message_is_rejected() -> None:
    """GIVEN an old signed message whose timestamp header was moved to now
    WHEN it is verified
    THEN it is rejected: the timestamp is signed."""
    headers = sign(PAYMENT_SUCCEEDED, timestamp=NOW - 86_400)
    headers["webhook-timestamp"] = str(NOW)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


def test_wrong_secret_is_rejected() -> None:
    """GIVEN a message signed with a secret we do not hold WHEN it is verified THEN rejected."""
    with pytest.raises(InvalidSignature):
        PROVIDER.verify(
            PAYMENT_SUCCEEDED, sign(PAYMENT_SUCCEEDED, secret=OTHER_SECRET), source(), NOW
        )


def test_stripe_style_key_is_not_what_standard_webhooks_uses() -> None:
    """GIVEN a signature keyed with the whsec_ text itself (the Stripe way)
    WHEN it is verified as Standard Webhooks
    THEN it fails: the key is the base64 decoding of the secret."""
    signed = f"{MSG_ID}.{NOW}.".encode() + PAYMENT_SUCCEEDED
    digest = hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()
    headers = sign(PAYMENT_SUCCEEDED)
    headers["webhook-signature"] = "v1," + base64.b64encode(digest).decode()

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_reported_as_missing(missing: str) -> None:
    """GIVEN a message lacking one of the three headers
    WHEN it is verified
    THEN it is a missing header."""
    headers = sign(PAYMENT_SUCCEEDED)
    del headers[missing]

    with pytest.raises(MissingHeader):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


def test_no_headers_at_all_is_missing() -> None:
    """GIVEN a message without any signature header WHEN it is verified THEN a header is missing."""
    with pytest.raises(MissingHeader):
        PROVIDER.verify(PAYMENT_SUCCEEDED, {}, source(), NOW)


def test_header_families_are_not_mixed() -> None:
    """GIVEN webhook-id and webhook-timestamp, but the signature only as svix-signature
    WHEN it is verified
    THEN webhook-signature is missing: one delivery's headers come from one family."""
    headers = sign(PAYMENT_SUCCEEDED)
    headers["svix-signature"] = headers.pop("webhook-signature")

    with pytest.raises(MissingHeader):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


def _good() -> str:
    return sign(PAYMENT_SUCCEEDED)["webhook-signature"]


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("garbage", id="no-version"),
        pytest.param(_good()[3:], id="bare-base64"),
        pytest.param("v1,", id="empty-v1"),
        pytest.param("v1a," + _good()[3:], id="only-v1a"),
        pytest.param("v2," + _good()[3:], id="only-unknown-version"),
        pytest.param("V1," + _good()[3:], id="uppercase-version"),
        pytest.param(_good()[:-3] + "A=", id="altered"),
        pytest.param(_good() + "," + _good()[3:], id="comma-joined"),
        pytest.param(_good()[:-2] + "é=", id="non-ascii"),
    ],
)
def test_garbled_signature_header_is_invalid(signature: str) -> None:
    """GIVEN a webhook-signature header without a usable, matching v1 entry
    WHEN it is verified
    THEN it is an invalid signature."""
    headers = sign(PAYMENT_SUCCEEDED)
    headers["webhook-signature"] = signature

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


@pytest.mark.parametrize("timestamp", ["abc", f"{NOW}.0", f"+{NOW}", "1_767_225_600", "-1", "1e9"])
def test_garbled_timestamp_is_invalid(timestamp: str) -> None:
    """GIVEN a webhook-timestamp that is not plain unix seconds
    WHEN it is verified
    THEN it is an invalid signature."""
    headers = sign(PAYMENT_SUCCEEDED)
    headers["webhook-timestamp"] = timestamp

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamp_outside_tolerance_is_expired(offset: int) -> None:
    """GIVEN a validly signed message 301 s (or a day) in the past or the future
    WHEN it is verified at NOW with a 300 s tolerance
    THEN it is expired."""
    headers = sign(PAYMENT_SUCCEEDED, timestamp=NOW + offset)

    with pytest.raises(SignatureExpired):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_at_the_tolerance_edge_is_accepted(offset: int) -> None:
    """GIVEN a message exactly 300 s old or ahead THEN it is still inside the tolerance."""
    headers = sign(PAYMENT_SUCCEEDED, timestamp=NOW + offset)

    assert PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


def test_tolerance_comes_from_the_source() -> None:
    """GIVEN a 60 s tolerance WHEN a message 120 s old arrives THEN it is expired."""
    headers = sign(PAYMENT_SUCCEEDED, timestamp=NOW - 120)

    with pytest.raises(SignatureExpired):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(SECRET, tolerance=60), NOW)


def test_reference_library_also_rejects_old_and_future_messages() -> None:
    """GIVEN messages signed ten minutes in the past and in the future (real clock)
    WHEN the reference library and we verify them
    THEN both reject them."""
    now = int(time.time())
    for timestamp in (now - 600, now + 600):
        headers = sign(PAYMENT_SUCCEEDED, timestamp=timestamp)
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(PAYMENT_SUCCEEDED, headers)
        with pytest.raises(SignatureExpired):
            PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), now)


def test_expired_forgery_is_an_invalid_signature() -> None:
    """GIVEN an old message signed with a secret we do not hold
    WHEN it is verified
    THEN it is an invalid signature: 'expired' is only said of authentic messages."""
    headers = sign(PAYMENT_SUCCEEDED, secret=OTHER_SECRET, timestamp=NOW - 3600)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(PAYMENT_SUCCEEDED, headers, source(), NOW)


# --- payload ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"payment.succeeded"', id="string"),
        pytest.param(b"{oops", id="not-json"),
        pytest.param(b'{"type": 7}', id="type-not-string"),
        pytest.param(b'{"type": ""}', id="type-empty"),
    ],
)
def test_signed_but_malformed_body_is_malformed(raw: bytes) -> None:
    """GIVEN a correctly signed body that is not a JSON object with a usable type
    WHEN it is verified
    THEN it is malformed."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + compute_signature(key, MSG_ID, NOW, raw),
    }

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(raw, headers, source(), NOW)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", "whsec_QUJD$"])
def test_unusable_secret_is_a_configuration_error(secret: str) -> None:
    """GIVEN a secret that is empty or not base64 after whsec_
    WHEN a message arrives
    THEN it is a configuration error (an empty key would let anyone sign)."""
    with pytest.raises(ConfigurationError):
        PROVIDER.verify(PAYMENT_SUCCEEDED, sign(PAYMENT_SUCCEEDED), source(SECRET, secret), NOW)


# --- classification and registry --------------------------------------------------------------



def test_registry_finds_the_provider() -> None:
    """GIVEN the registry WHEN 'standard' is looked up THEN this module's PROVIDER is returned."""
    assert get_provider("standard") is PROVIDER
    assert PROVIDER.name == "standard"
