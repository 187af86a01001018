"""PayPal provider: fresh deliveries signed under a test CA: what verifies and every way it must not.

Certificates come from a fake fetcher that records its calls, except in test_fetcher.py, which
uses the real urllib fetcher against a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.errors import (
    ConfigurationError,
    DependencyUnavailable,
    InvalidSignature,
    MalformedPayload,
    MissingHeader,
)
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import CertificateStore
from tests.unit.providers.paypal.helpers import (
    BODY,
    CERT_URL,
    DAY,
    NOW,
    NOW_DT,
    OTHER_WEBHOOK_ID,
    WEBHOOK_ID,
    ca_source,
    chain_document,
    provider_serving,
    serving_genuine,
    source,
)
from tests.unit.providers.paypal_pki import (
    PROD_SUBJECT,
    SANDBOX_SUBJECT,
    FakeFetcher,
    Issued,
    make_ca,
    make_leaf,
    new_key,
    sign_delivery,
)


def test_fresh_delivery_verifies(pki: dict[str, Issued]) -> None:
    # GIVEN a delivery signed by a leaf of our test CA, served with its intermediate
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN it is verified against a source trusting the test root
    events = provider.verify(BODY, headers, ca_source(pki), NOW)

    # THEN it passes with the event's id, type and exact payload
    assert [(e.event_id, e.event_type) for e in events] == [
        ("WH-58D329510W468432D-8HN650336L201105X", "PAYMENT.CAPTURE.COMPLETED")
    ]
    assert events[0].payload == BODY.decode()
    assert fetcher.calls == [CERT_URL]


def test_transmission_time_is_not_bounded(pki: dict[str, Issued]) -> None:
    # GIVEN a delivery whose transmission time is years before `now` (PayPal defines no
    # tolerance; only the certificate's dates are checked)
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(
        pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL, transmission_time="2001-01-01T00:00:00Z"
    )

    # WHEN / THEN it verifies, with a short configured tolerance
    source_config = SourceConfig(
        name="paypal-main",
        provider="paypal",
        secrets=(WEBHOOK_ID,),
        tolerance_seconds=1,
        options={"trustRootsPem": pki["root"].pem},
    )
    assert len(provider.verify(BODY, headers, source_config, NOW)) == 1


@pytest.mark.parametrize("signed_for", [WEBHOOK_ID, OTHER_WEBHOOK_ID])
def test_rotation_accepts_either_webhook_id(pki: dict[str, Issued], signed_for: str) -> None:
    # GIVEN a source with two webhook ids, and a delivery signed for one of them
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, signed_for, CERT_URL)

    # WHEN / THEN it verifies
    events = provider.verify(BODY, headers, ca_source(pki, WEBHOOK_ID, OTHER_WEBHOOK_ID), NOW)
    assert len(events) == 1


def test_signature_by_another_key_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a delivery pointing at the genuine certificate but signed with an attacker's key
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(new_key(), BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="does not verify"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


@pytest.mark.parametrize(
    ("common_name", "dns_names"),
    [
        ("www.paypal.com", ("www.paypal.com",)),
        ("messageverificationcerts.paypal.com.evil.example", None),
        ("evil.example", ("*.paypal.com",)),  # a wildcard does not name the subject exactly
    ],
)
def test_leaf_with_a_wrong_subject_is_refused(
    pki: dict[str, Issued], common_name: str, dns_names: tuple[str, ...] | None
) -> None:
    # GIVEN a leaf of the trusted CA whose names are not PayPal's message-verification name
    leaf = make_leaf(pki["intermediate"], NOW_DT - DAY, NOW_DT + 30 * DAY, common_name, dns_names)
    provider, _ = provider_serving({CERT_URL: chain_document(leaf, pki["intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="message-verification"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_leaf_with_the_name_only_in_cn_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a leaf whose CN is right but whose SAN lists another name (WebPKI matches on SAN)
    leaf = make_leaf(
        pki["intermediate"], NOW_DT - DAY, NOW_DT + 30 * DAY, PROD_SUBJECT, ("www.paypal.com",)
    )
    provider, _ = provider_serving({CERT_URL: chain_document(leaf, pki["intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_sandbox_leaf_verifies_with_default_subjects(pki: dict[str, Issued]) -> None:
    # GIVEN a leaf named like PayPal's sandbox certificate
    leaf = make_leaf(pki["intermediate"], NOW_DT - DAY, NOW_DT + 30 * DAY, SANDBOX_SUBJECT)
    url = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1"
    provider, _ = provider_serving({url: chain_document(leaf, pki["intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN it verifies
    assert len(provider.verify(BODY, headers, ca_source(pki), NOW)) == 1


def test_leaf_from_an_untrusted_ca_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a correctly named leaf issued by a look-alike CA we do not trust
    leaf = make_leaf(pki["rogue_intermediate"], NOW_DT - DAY, NOW_DT + 30 * DAY)
    provider, _ = provider_serving({CERT_URL: chain_document(leaf, pki["rogue_intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_self_signed_leaf_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a self-signed certificate carrying PayPal's name
    self_signed = make_ca(PROD_SUBJECT, NOW_DT - DAY, NOW_DT + 30 * DAY)
    provider, _ = provider_serving({CERT_URL: chain_document(self_signed)})
    headers = sign_delivery(self_signed.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused (it has no SAN and is not trusted)
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [(NOW_DT - 60 * DAY, NOW_DT - DAY), (NOW_DT + DAY, NOW_DT + 60 * DAY)],
    ids=["expired", "not-yet-valid"],
)
def test_leaf_outside_its_validity_is_refused(
    pki: dict[str, Issued], not_before: dt.datetime, not_after: dt.datetime
) -> None:
    # GIVEN a leaf that is not valid at `now`
    leaf = make_leaf(pki["intermediate"], not_before, not_after)
    provider, _ = provider_serving({CERT_URL: chain_document(leaf, pki["intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="not valid at this time"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_expired_intermediate_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a valid leaf issued by an intermediate that has expired
    expired_ca = make_ca(
        "Webhook Tests Old CA", NOW_DT - 400 * DAY, NOW_DT - DAY, pki["root"]
    )
    leaf = make_leaf(expired_ca, NOW_DT - 10 * DAY, NOW_DT + 30 * DAY)
    provider, _ = provider_serving({CERT_URL: chain_document(leaf, expired_ca)})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_expired_trust_root_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN a configured trust root that expired yesterday, and a leaf it signed directly
    old_root = make_ca("Webhook Tests Expired Root", NOW_DT - 400 * DAY, NOW_DT - DAY)
    leaf = make_leaf(old_root, NOW_DT - 10 * DAY, NOW_DT + 30 * DAY)
    provider, _ = provider_serving({CERT_URL: chain_document(leaf)})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused (every certificate of the chain is date-checked, the root too)
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, source(trustRootsPem=old_root.pem), NOW)


def test_wrong_auth_algo_is_refused_without_fetching(pki: dict[str, Issued]) -> None:
    # GIVEN a valid delivery whose auth algo header names another algorithm
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    headers["paypal-auth-algo"] = "SHA1withRSA"

    # WHEN / THEN it is refused before any fetch
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "header",
    [
        "paypal-transmission-id",
        "paypal-transmission-time",
        "paypal-transmission-sig",
        "paypal-cert-url",
        "paypal-auth-algo",
    ],
)
@pytest.mark.parametrize("blank", [False, True], ids=["absent", "blank"])
def test_missing_header_is_refused(pki: dict[str, Issued], header: str, blank: bool) -> None:
    # GIVEN a valid delivery without one of the headers
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    if blank:
        headers[header] = "  "
    else:
        del headers[header]

    # WHEN / THEN MissingHeader, and nothing is fetched
    with pytest.raises(MissingHeader):
        provider.verify(BODY, headers, ca_source(pki), NOW)
    assert fetcher.calls == []


@pytest.mark.parametrize("signature", ["not base64 at all!", "QUJD", "====", "QUJD" * 1000])
def test_garbled_signature_is_refused_without_fetching(
    pki: dict[str, Issued], signature: str
) -> None:
    # GIVEN a signature that is not base64, or too short or too long to be an RSA-2048..4096 one
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    headers["paypal-transmission-sig"] = signature

    # WHEN / THEN InvalidSignature, and nothing is fetched
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)
    assert fetcher.calls == []


def test_truncated_signature_is_refused(pki: dict[str, Issued]) -> None:
    # GIVEN valid base64 that is not a full-length signature
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    headers["paypal-transmission-sig"] = headers["paypal-transmission-sig"][:40]

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"event_type":"PAYMENT.CAPTURE.COMPLETED"}',
        b'{"id":"WH-1"}',
        b'{"id":"","event_type":"PAYMENT.CAPTURE.COMPLETED"}',
        b'{"id":"WH-1","event_type":7}',
        b'{"id":"WH-\xff","event_type":"X"}',
    ],
)
def test_signed_but_malformed_body_is_malformed_payload(
    pki: dict[str, Issued], body: bytes
) -> None:
    # GIVEN a correctly signed delivery whose body is not a PayPal event
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, body, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN MalformedPayload
    with pytest.raises(MalformedPayload):
        provider.verify(body, headers, ca_source(pki), NOW)


def test_unsigned_malformed_body_is_an_invalid_signature_first(pki: dict[str, Issued]) -> None:
    # GIVEN garbage signed by nobody: the signature is checked before the body is parsed
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN InvalidSignature, not MalformedPayload
    with pytest.raises(InvalidSignature):
        provider.verify(b"{not json", headers, ca_source(pki), NOW)


@pytest.mark.parametrize("document", [b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_a_document_that_is_not_a_certificate_is_refused(
    pki: dict[str, Issued], document: bytes
) -> None:
    # GIVEN the allowed URL serves something that is not a PEM certificate
    provider, _ = provider_serving({CERT_URL: document})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN it is refused
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(BODY, headers, ca_source(pki), NOW)


def test_fetch_failure_is_dependency_unavailable(pki: dict[str, Issued]) -> None:
    # GIVEN a fetcher that cannot reach PayPal
    fetcher = FakeFetcher(error=DependencyUnavailable("down"))
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN a 503 (PayPal retries), not a bad signature
    with pytest.raises(DependencyUnavailable):
        provider.verify(BODY, headers, ca_source(pki), NOW)


@pytest.mark.parametrize(
    "options",
    [
        {"certHosts": "api.paypal.com"},
        {"certHosts": []},
        {"certSubjects": [""]},
        {"certSubjects": ["*.paypal.com"]},
        {"certHosts": ["api.paypal.com:443"]},
        {"certHosts": ["https://api.paypal.com"]},
        {"certHosts": [7]},
        {"trustRootsPem": "not pem"},
        {"trustRootsPem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
        {"allowLoopbackCertHost": "true"},
    ],
)
def test_bad_configuration_is_a_configuration_error(pki: dict[str, Issued], options: dict) -> None:
    # GIVEN a source with invalid PayPal options
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN ConfigurationError
    with pytest.raises(ConfigurationError):
        provider.verify(BODY, headers, source(**options), NOW)


def test_source_without_webhook_ids_is_a_configuration_error(pki: dict[str, Issued]) -> None:
    # GIVEN a source with no webhook id
    provider, fetcher = provider_serving({})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    empty = SourceConfig(name="paypal-main", provider="paypal", secrets=())

    # WHEN / THEN ConfigurationError, nothing fetched
    with pytest.raises(ConfigurationError):
        provider.verify(BODY, headers, empty, NOW)
    assert fetcher.calls == []
