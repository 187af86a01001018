"""Property-based fuzzing of POST /webhook/{source} with hostile bodies, headers and paths.

Whatever arrives, the answer is a 4xx with our JSON error body (413/415 where specified), never a
5xx, and nothing is stored or queued. A fixed, derandomized profile runs in `make test`; `make fuzz`
runs the long random one.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers_tooling import square, standard, stripe
from providers_tooling.contract import JSON_HEADERS
from tests import samples

KNOWN_CODES = {
    "malformed_payload",
    "missing_header",
    "invalid_signature",
    "signature_expired",
    "unknown_source",
    "payload_too_large",
    "unsupported_media_type",
}
SOURCES = ["stripe", "square", "adyen", "standard", "paypal-missing", "stripe-eu"]


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[tuple[object, object]]:
    """One moto stack and one client for the whole module: hypothesis runs many examples."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("STAGE", "local")
        session = boto3.session.Session()
        resources = ensure_stack(session, Settings.from_environment(), samples.SOURCES)
        for name, value in resources.environment().items():
            patch.setenv(name, value)
        runtime.reset()
        with Client(app, stage_name="local") as client:
            yield client, (session, resources)
        runtime.reset()


def assert_rejected_and_nothing_stored(fuzz_app, response) -> None:
    _, (session, resources) = fuzz_app
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:200])
    body = json.loads(response.body)
    assert set(body) == {"error", "message"} and body["error"] in KNOWN_CODES
    assert session.client("dynamodb").scan(TableName=resources.table_name, Limit=1)["Count"] == 0
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def hostile_json() -> st.SearchStrategy[bytes]:
    deep = st.integers(min_value=1, max_value=50_000).map(lambda n: b"[" * n + b"]" * n)
    deep_objects = st.integers(min_value=1, max_value=5_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
    huge_number = st.integers(min_value=4_000, max_value=20_000).map(lambda n: b'{"id":' + b"9" * n + b"}")
    duplicate_keys = st.just(b'{"id":"evt_1","id":"evt_2","type":"x","type":"y"}')
    not_utf8 = st.binary(min_size=1, max_size=64).map(lambda b: b"\xff\xfe" + b)
    wrong_shapes = st.sampled_from([b"[]", b"null", b"1", b'"text"', b"{}", b"", b"{", b'{"id": null, "type": 5}'])
    random_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    ).map(lambda value: json.dumps(value).encode())
    return st.one_of(deep, deep_objects, huge_number, duplicate_keys, not_utf8, wrong_shapes, random_json,
                     st.binary(max_size=512))


@given(source=st.sampled_from(SOURCES), body=hostile_json(), headers=st.dictionaries(
    st.sampled_from([
        "Stripe-Signature", "webhook-id", "webhook-timestamp", "webhook-signature",
        "x-square-hmacsha256-signature", "x-square-signature", "PAYPAL-CERT-URL", "svix-signature",
    ]),
    st.text(alphabet=string.printable, max_size=80),
    max_size=4,
))
def test_unsigned_hostile_deliveries_are_rejected(fuzz_app, source, body, headers):
    client, _ = fuzz_app
    response = client.http.post(f"/webhook/{source}", body=body,
                                headers={"Content-Type": "application/json", **headers})
    assert_rejected_and_nothing_stored(fuzz_app, response)


def acceptable_event(body: bytes, id_in_header: bool) -> bool:
    """Whether a signed body is in fact a well-formed event (then a 200 is right, not a bug)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(document, dict):
        return False
    if id_in_header:  # Standard Webhooks: the id travels in a header, any JSON object is an event
        return document.get("type") is None or (isinstance(document.get("type"), str) and document["type"] != "")
    return all(isinstance(document.get(key), str) and document[key] for key in ("id", "type"))


# Outside the 300 s tolerance by a margin: `samples.now()` is whole seconds and the requests take time, so
# an offset of 301 s is inside the tolerance (and the event rightly accepted) by the time it is checked.
OUTSIDE_TOLERANCE = 300 + 60


@given(body=hostile_json(),
       timestamp_offset=st.sampled_from([0, 0, -OUTSIDE_TOLERANCE, OUTSIDE_TOLERANCE, -10**9, 10**9]))
def test_correctly_signed_garbage_is_a_4xx_never_a_5xx(fuzz_app, body, timestamp_offset):
    # Signed with the real secret, so the body itself is what gets parsed and rejected.
    client, _ = fuzz_app
    now = samples.now() + timestamp_offset
    for source, headers in [
        ("stripe", stripe.signed_headers(body, samples.STRIPE_SECRET, max(now, 0))),
        ("standard", standard.signed_headers(body, samples.STANDARD_SECRET, "msg_fuzz", max(now, 0))),
        ("square", square.signed_headers(body, samples.SQUARE_KEY, samples.SQUARE_URL)),
        ("adyen", dict(JSON_HEADERS)),
    ]:
        if acceptable_event(body, id_in_header=source == "standard") and timestamp_offset == 0:
            continue
        response = client.http.post(f"/webhook/{source}", body=body, headers=headers)
        assert_rejected_and_nothing_stored(fuzz_app, response)


@given(
    garbled=st.one_of(
        st.text(alphabet=string.printable, max_size=200),
        st.lists(st.sampled_from(["t=1", "t=abc", "v1=", "v1=zz", "v0=00", ",", "t=", "=", "t=99999999999999999999"]),
                 max_size=8).map(",".join),
    )
)
def test_garbled_and_repeated_stripe_headers_are_refused(fuzz_app, garbled):
    client, _ = fuzz_app
    body, headers = samples.stripe_delivery(samples.stripe_event())
    # A repeated header reaches the app comma-joined, as a proxy merges it.
    for value in (garbled, f"{headers['Stripe-Signature']},{garbled}" if "t=" in garbled else garbled):
        response = client.http.post("/webhook/stripe", body=body,
                                    headers={"Content-Type": "application/json", "Stripe-Signature": value})
        assert_rejected_and_nothing_stored(fuzz_app, response)


@given(content_type=st.one_of(
    st.sampled_from(["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/jsonp", "json",
                     "*/*"]),
    st.text(alphabet=string.ascii_letters + "/;=-", max_size=30).filter(lambda t: "json" not in t.lower()),
))
def test_wrong_content_types_are_415(fuzz_app, content_type):
    client, _ = fuzz_app
    body, headers = samples.stripe_delivery(samples.stripe_event())
    headers["Content-Type"] = content_type
    response = client.http.post("/webhook/stripe", body=body, headers=headers)
    assert response.status_code == 415
    assert_rejected_and_nothing_stored(fuzz_app, response)


@given(extra=st.integers(min_value=1, max_value=4096))
def test_oversized_bodies_are_413(fuzz_app, extra):
    client, _ = fuzz_app
    body = b'{"id":"' + b"x" * (256 * 1024 + extra) + b'"}'
    response = client.http.post("/webhook/stripe", body=body,
                                headers=stripe.signed_headers(body, samples.STRIPE_SECRET, samples.now()))
    assert response.status_code == 413
    assert_rejected_and_nothing_stored(fuzz_app, response)


@given(source=st.one_of(
    st.sampled_from(["..", "%2e%2e", "stripe%00", "STRIPE", "stripe ", "strípe", "stripe.json", "-stripe", "_",
                     "a" * 65]),
    st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
))
def test_unknown_sources_and_path_tricks_are_404(fuzz_app, source):
    client, _ = fuzz_app
    if source in samples.SOURCES:
        return
    body, headers = samples.stripe_delivery(samples.stripe_event())
    response = client.http.post(f"/webhook/{source}", body=body, headers=headers)
    assert response.status_code in (404, 400)
    assert_rejected_and_nothing_stored(fuzz_app, response)


def test_profile_is_fixed_in_ci():
    # `make test` must be repeatable: the CI profile is derandomized (a fixed seed).
    from hypothesis import settings

    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings().derandomize
