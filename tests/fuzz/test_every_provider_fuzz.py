"""Unsigned junk at every registered provider's source, through the route: never a 5xx (issue #12).

The registry is the list: a provider added later is fuzzed without touching this file. Bodies mix
hostile JSON, lone surrogates (``"\\ud800"``: valid ASCII JSON, not text), byte order marks and
other encodings; headers are each provider's own (signature, ids, times, PayPal's certificate URL)
with junk values, plus odd ``Content-Length`` values (``²`` passes ``str.isdigit``). Whatever
arrives, the answer is a 4xx with our JSON error body, and nothing is stored or queued.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.providers import PROVIDER_NAMES, get_provider
from providers_tooling import tooling
from tests import samples

# A PayPal source (its tooling has no test source): junk headers never name an allowed
# certificate host, so no fetch is attempted (fetches are the PayPal engineer's item 5).
PAYPAL_SOURCE = {"secrets": ["WH-FUZZ-00000000000000000"]}
SOURCES: dict[str, Any] = {
    name: dict(tooling(name).test_source or PAYPAL_SOURCE) for name in PROVIDER_NAMES
}
HEADER_NAMES = sorted(
    {header for name in PROVIDER_NAMES for header in get_provider(name).signature_headers}
    | {"paypal-transmission-id", "paypal-transmission-time", "paypal-cert-url", "paypal-auth-algo",
       "webhook-id", "webhook-timestamp", "svix-id", "svix-timestamp", "content-length"}
)
ODD_VALUES = ["²", "¹²³", "٣", "9" * 5000, "-1", "", " ", "t=1,v1=00", "v1,AAAA", "SHA256withRSA", "\x7f", "é"]


@pytest.fixture(scope="module")
def every_provider_app() -> Iterator[tuple[Any, Any, Any]]:
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
        resources = ensure_stack(session, Settings.from_environment(), SOURCES)
        for name, value in resources.environment().items():
            patch.setenv(name, value)
        runtime.reset()
        with Client(app, stage_name="local") as client:
            yield client, session, resources
        runtime.reset()


def junk_bodies() -> st.SearchStrategy[bytes]:
    surrogate_text = st.text(max_size=12).map(lambda t: t + "\ud800")
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=12) | surrogate_text,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=12,
    )
    # Signed-looking Adyen items (a signature is present, so the fields reach the signing string).
    adyen_like = st.builds(
        lambda fields, signature: {"live": "false", "notificationItems": [
            {"NotificationRequestItem": {**fields, "additionalData": {"hmacSignature": signature}}}
        ]},
        st.dictionaries(
            st.sampled_from(["pspReference", "originalReference", "merchantAccountCode", "merchantReference",
                             "eventCode", "success", "amount"]),
            st.one_of(surrogate_text, json_values), max_size=7,
        ),
        st.sampled_from(["AAAA", "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="]),
    )
    keys = st.sampled_from(["id", "type", "event_type", "events"])
    documents = st.one_of(adyen_like, json_values, st.dictionaries(keys, json_values))
    encoded = documents.flatmap(lambda document: st.sampled_from([
        json.dumps(document).encode("ascii"),
        json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        b"\xef\xbb\xbf" + json.dumps(document).encode("ascii"),
        json.dumps(document).encode("utf-16"),
    ]))
    return st.one_of(encoded, st.binary(max_size=256), st.sampled_from([b"", b"{", b"[]", b'{"id":"\\udfff"}']))


@pytest.mark.parametrize("provider", PROVIDER_NAMES)  # each provider gets the profile's examples
@given(
    body=junk_bodies(),
    headers=st.dictionaries(
        st.sampled_from(HEADER_NAMES),
        st.one_of(st.text(alphabet=string.printable, max_size=60), st.sampled_from(ODD_VALUES)),
        max_size=6,
    ),
)
def test_unsigned_junk_never_gets_a_5xx_from_any_provider(every_provider_app, provider, body, headers):
    client, session, resources = every_provider_app

    headers = {"Content-Type": "application/json", **headers}
    response = client.http.post(f"/webhook/{provider}", body=body, headers=headers)

    assert 400 <= response.status_code < 500, (provider, response.status_code, response.body[:200])
    assert set(json.loads(response.body)) == {"error", "message"}
    assert session.client("dynamodb").scan(TableName=resources.table_name, Limit=1)["Count"] == 0
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_every_registered_provider_is_fuzzed() -> None:
    assert set(SOURCES) == set(PROVIDER_NAMES) and all(entry["secrets"] for entry in SOURCES.values())
    assert samples.now() > 0  # the shared test helpers load (the conftest's AWS isolation applies)
