"""PayPal provider: real RSA signatures and certificates, never the network.

Certificates are served by a fake fetcher that records its calls (so URL refusals can prove that
nothing was fetched); the real urllib fetcher is only exercised against a local http.server on
127.0.0.1, through the local-stage loopback allowance.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import certifi
import pytest

from chalicelib.errors import (
    ConfigurationError,
    DependencyUnavailable,
    InvalidSignature,
    MalformedPayload,
    MissingHeader,
)
from chalicelib.providers import get_provider, paypal_certs, paypal_fetch
from chalicelib.providers.base import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal_certs import CertificateStore, UrllibCertFetcher
from tests.unit.providers.paypal_pki import (
    PROD_SUBJECT,
    SANDBOX_SUBJECT,
    FakeFetcher,
    Issued,
    RealDelivery,
    load_real_delivery,
    make_ca,
    make_leaf,
    new_key,
    pem,
    sign_delivery,
)

NOW_DT = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
NOW = NOW_DT.timestamp()
DAY = dt.timedelta(days=1)
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
OTHER_WEBHOOK_ID = "1JE4291016473214C"
BODY = json.dumps(
    {
        "id": "WH-58D329510W468432D-8HN650336L201105X",
        "event_version": "1.0",
        "create_time": "2026-06-01T12:00:00.000Z",
        "resource_type": "capture",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "summary": "Payment completed for $ 7.47 USD",
        "resource": {
            "id": "42311647XV020574X",
            "amount": {"currency_code": "USD", "value": "7.47"},
        },
    },
    separators=(",", ":"),
).encode()


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _not_local_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    # The loopback allowance depends on STAGE: every test starts outside the local stage.
    monkeypatch.delenv("STAGE", raising=False)


@pytest.fixture(scope="module")
def real() -> RealDelivery:
    return load_real_delivery()


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make_ca("Webhook Tests Root CA", NOW_DT - 30 * DAY, NOW_DT + 3650 * DAY)
    intermediate = make_ca("Webhook Tests Issuing CA", NOW_DT - 30 * DAY, NOW_DT + 1825 * DAY, root)
    leaf = make_leaf(intermediate, NOW_DT - DAY, NOW_DT + 365 * DAY)
    # Same names as the real CA, different keys: nobody we trust signed it.
    rogue_root = make_ca("Webhook Tests Root CA", NOW_DT - 30 * DAY, NOW_DT + 3650 * DAY)
    rogue_intermediate = make_ca(
        "Webhook Tests Issuing CA", NOW_DT - 30 * DAY, NOW_DT + 1825 * DAY, rogue_root
    )
    return {
        "root": root,
        "intermediate": intermediate,
        "leaf": leaf,
        "rogue_intermediate": rogue_intermediate,
    }


def source(*webhook_ids: str, **options: object) -> SourceConfig:
    return SourceConfig(
        name="paypal-main",
        provider="paypal",
        secrets=webhook_ids or (WEBHOOK_ID,),
        options=options,
    )


def ca_source(pki: dict[str, Issued], *webhook_ids: str, **options: object) -> SourceConfig:
    return source(*webhook_ids, trustRootsPem=pki["root"].pem, **options)


def chain_document(leaf: Issued, *intermediates: Issued) -> bytes:
    return pem(leaf.certificate, *(ca.certificate for ca in intermediates)).encode()


def provider_serving(documents: dict[str, bytes]) -> tuple[PayPalProvider, FakeFetcher]:
    fetcher = FakeFetcher(documents)
    return PayPalProvider(CertificateStore(fetcher=fetcher)), fetcher


def serving_genuine(pki: dict[str, Issued]) -> tuple[PayPalProvider, FakeFetcher]:
    """A provider whose fake fetcher serves the test leaf and its intermediate at CERT_URL."""
    return provider_serving({CERT_URL: chain_document(pki["leaf"], pki["intermediate"])})


# ------------------------------------------------------------------------------------------
# The real PayPal sandbox delivery of 2017
# ------------------------------------------------------------------------------------------


def real_provider(
    real: RealDelivery, with_intermediate: bool = True
) -> tuple[PayPalProvider, FakeFetcher]:
    document = real.leaf_pem + (real.intermediate_pem if with_intermediate else "")
    return provider_serving({real.cert_url: document.encode()})


def real_source(real: RealDelivery, *webhook_ids: str, **options: object) -> SourceConfig:
    # certifi no longer carries DigiCert High Assurance EV Root CA (see the test below), so the
    # source is configured with that root, embedded in paypal_pki with its fingerprint pinned:
    # the chain still ends at the real root, not at the intermediate.
    options.setdefault("trustRootsPem", real.root_pem)
    return source(*(webhook_ids or (real.webhook_id,)), **options)


def test_real_delivery_verifies_at_its_transmission_time(real: RealDelivery) -> None:
    # GIVEN PayPal's real signed delivery, its certificate chain up to DigiCert's EV root,
    # and the clock pinned to the transmission time 2017-03-30T20:04:05Z
    provider, fetcher = real_provider(real)

    # WHEN it is verified
    events = provider.verify(real.body, real.headers(), real_source(real), real.transmitted_at)

    # THEN the single event is returned with its id, type and exact payload
    assert [(e.event_id, e.event_type) for e in events] == [
        ("WH-2MW4820926242972J-6SG447389E205703U", "BILLING.PLAN.CREATED")
    ]
    assert events[0].payload == real.body.decode("utf-8")
    assert fetcher.calls == [real.cert_url]
    assert provider.is_payment_event(events[0].event_type) is False


def test_real_delivery_fails_today_because_the_certificate_expired(real: RealDelivery) -> None:
    # GIVEN the same delivery, but checked with today's clock (the certificate expired in 2019)
    provider, _ = real_provider(real)

    # WHEN / THEN it is refused as InvalidSignature (an expired certificate is an untrusted
    # signer, not a stale timestamp: SignatureExpired is kept for signature timestamps)
    with pytest.raises(InvalidSignature, match="not valid at this time"):
        provider.verify(real.body, real.headers(), real_source(real), time.time())


def test_real_delivery_fails_with_a_wrong_webhook_id(real: RealDelivery) -> None:
    # GIVEN the real delivery and a source configured with another subscription id
    provider, _ = real_provider(real)

    # WHEN / THEN the signature does not verify
    with pytest.raises(InvalidSignature, match="does not verify"):
        provider.verify(
            real.body, real.headers(), real_source(real, "96605875FF6516634"), real.transmitted_at
        )


def test_real_delivery_fails_with_a_tampered_body(real: RealDelivery) -> None:
    # GIVEN the real delivery with one byte of the body changed
    provider, _ = real_provider(real)
    tampered = real.body.replace(b'"value":"100"', b'"value":"900"')
    assert tampered != real.body

    # WHEN / THEN the signature does not verify
    with pytest.raises(InvalidSignature, match="does not verify"):
        provider.verify(tampered, real.headers(), real_source(real), real.transmitted_at)


def test_real_delivery_verifies_during_webhook_id_rotation(real: RealDelivery) -> None:
    # GIVEN a source holding a new webhook id and the old (real) one
    provider, _ = real_provider(real)

    # WHEN / THEN the delivery signed for the old id still verifies
    events = provider.verify(
        real.body,
        real.headers(),
        real_source(real, "NEWID0000000000000", real.webhook_id),
        real.transmitted_at,
    )
    assert events[0].event_id == "WH-2MW4820926242972J-6SG447389E205703U"


def test_certifi_no_longer_has_the_2017_root_so_default_trust_refuses(real: RealDelivery) -> None:
    # GIVEN certifi's bundle (the default trust roots), which lacks DigiCert High Assurance EV
    # Root CA
    with open(certifi.where(), encoding="ascii") as bundle:
        assert real.root_pem.strip().splitlines()[1] not in bundle.read()
    provider, _ = real_provider(real)

    # WHEN the real delivery is verified with the default trust roots at its own time
    # THEN the chain cannot be completed to a trusted root
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(
            real.body, real.headers(), source(real.webhook_id), real.transmitted_at
        )


def test_real_delivery_uses_configured_intermediates(real: RealDelivery) -> None:
    # GIVEN a certificate document holding only the leaf
    provider, _ = real_provider(real, with_intermediate=False)

    # WHEN the intermediate is not configured THEN the chain is incomplete
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(real.body, real.headers(), real_source(real), real.transmitted_at)

    # WHEN it is configured with intermediatesPem THEN the delivery verifies
    events = provider.verify(
        real.body,
        real.headers(),
        real_source(real, intermediatesPem=real.intermediate_pem),
        real.transmitted_at,
    )
    assert len(events) == 1


def test_real_delivery_refused_when_only_production_subjects_are_allowed(
    real: RealDelivery,
) -> None:
    # GIVEN a source that accepts only the production message-verification certificate
    provider, _ = real_provider(real)

    # WHEN / THEN the sandbox certificate is refused
    with pytest.raises(InvalidSignature, match="message-verification"):
        provider.verify(
            real.body,
            real.headers(),
            real_source(real, certSubjects=[PROD_SUBJECT]),
            real.transmitted_at,
        )


# ------------------------------------------------------------------------------------------
# Fresh deliveries signed under a test CA
# ------------------------------------------------------------------------------------------


def test_fresh_delivery_verifies(pki: dict[str, Issued]) -> None:
    # GIVEN a delivery signed by a leaf of our test CA, served with its intermediate
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN it is verified against a source trusting the test root
    events = provider.verify(BODY, headers, ca_source(pki), NOW)

    # THEN it passes and the event is a payment event
    assert [(e.event_id, e.event_type) for e in events] == [
        ("WH-58D329510W468432D-8HN650336L201105X", "PAYMENT.CAPTURE.COMPLETED")
    ]
    assert events[0].payload == BODY.decode()
    assert provider.is_payment_event(events[0].event_type)
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


# ------------------------------------------------------------------------------------------
# Certificate URL refusals: nothing is ever fetched
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://evil.example/v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://evilapi.paypal.com/cert",
        "https://api.paypal.com@evil.example/v1/notifications/certs/CERT-1",
        "https://user:pass@api.paypal.com/cert",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:443/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:/cert",
        "https://api.paypal.com./cert",
        "https://1.2.3.4/v1/notifications/certs/CERT-1",
        "https://[::1]/cert",
        "https://127.0.0.1/cert",
        "https://localhost/cert",
        "https://2130706433/cert",
        "https://api.paypal.com\\@evil.example/cert",
        "https://api.paypal.com%2eevil.example/cert",
        "https://api.paypal.com /cert",
        "https://api.paypal.com/cert\r\nHost: evil.example",
        "https://api.pаypal.com/cert",  # Cyrillic "а"
        "ftp://api.paypal.com/cert",
        "file:///etc/passwd",
        "//api.paypal.com/cert",
        "https:///api.paypal.com/cert",
        "api.paypal.com/v1/notifications/certs/CERT-1",
        "not a url",
        "https://" + "a" * 3000,
    ],
)
def test_disallowed_cert_urls_are_refused_before_any_fetch(
    pki: dict[str, Issued], url: str
) -> None:
    # GIVEN a delivery whose cert URL must not be fetched (loopback/IP hosts even when listed)
    provider, fetcher = provider_serving({})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)
    options = {
        "certHosts": ["api.paypal.com", "api.sandbox.paypal.com", "127.0.0.1", "::1", "localhost",
                      "1.2.3.4"],
        "allowLoopbackCertHost": True,  # ignored: STAGE is not "local"
    }

    # WHEN / THEN InvalidSignature, and the fetcher was never called
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, headers, ca_source(pki, **options), NOW)
    assert fetcher.calls == []


@pytest.mark.parametrize("stage", ["prod", "dev", "LOCAL", "local "])
def test_loopback_needs_the_local_stage(
    pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # GIVEN a listed loopback host with the allowance option, in a stage other than "local"
    monkeypatch.setenv("STAGE", stage)
    url = "http://127.0.0.1:8080/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(
            BODY,
            headers,
            ca_source(pki, certHosts=["127.0.0.1"], allowLoopbackCertHost=True),
            NOW,
        )
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "options",
    [{"certHosts": ["127.0.0.1"]}, {"allowLoopbackCertHost": True}],
    ids=["option-missing", "host-not-listed"],
)
def test_local_stage_alone_does_not_allow_loopback(
    pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch, options: dict
) -> None:
    # GIVEN STAGE=local but the source lacks the option or does not list the host
    monkeypatch.setenv("STAGE", "local")
    url = "http://127.0.0.1:8080/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, headers, ca_source(pki, **options), NOW)
    assert fetcher.calls == []


def test_local_stage_does_not_allow_other_ip_literals(
    pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the local allowance and a listed, non-loopback IP literal
    monkeypatch.setenv("STAGE", "local")
    url = "https://10.0.0.1/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(
            BODY,
            headers,
            ca_source(pki, certHosts=["10.0.0.1"], allowLoopbackCertHost=True),
            NOW,
        )
    assert fetcher.calls == []


# ------------------------------------------------------------------------------------------
# Cache
# ------------------------------------------------------------------------------------------


def test_second_verification_uses_the_cache(pki: dict[str, Issued]) -> None:
    # GIVEN one verified delivery
    provider, fetcher = serving_genuine(pki)
    config = ca_source(pki)
    provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL), config, NOW)

    # WHEN a second delivery with the same cert URL arrives
    other_body = BODY.replace(b"7.47", b"8.00")
    other_headers = sign_delivery(pki["leaf"].key, other_body, WEBHOOK_ID, CERT_URL)
    provider.verify(other_body, other_headers, config, NOW + 60)

    # THEN the certificate was fetched once
    assert fetcher.calls == [CERT_URL]


def test_cache_is_not_shared_with_a_stricter_policy(pki: dict[str, Issued]) -> None:
    # GIVEN a production certificate cached for a source that allows it
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    provider.verify(BODY, headers, ca_source(pki), NOW)

    # WHEN a source allowing only the sandbox subject sees the same URL
    # THEN the cached acceptance is not reused: the certificate is validated again and refused
    with pytest.raises(InvalidSignature, match="message-verification"):
        provider.verify(BODY, headers, ca_source(pki, certSubjects=[SANDBOX_SUBJECT]), NOW)
    assert len(fetcher.calls) == 2


def test_cached_certificate_is_not_used_after_it_expires(pki: dict[str, Issued]) -> None:
    # GIVEN a cached certificate that expires in 30 days
    leaf = make_leaf(pki["intermediate"], NOW_DT - DAY, NOW_DT + 30 * DAY)
    provider, fetcher = provider_serving({CERT_URL: chain_document(leaf, pki["intermediate"])})
    headers = sign_delivery(leaf.key, BODY, WEBHOOK_ID, CERT_URL)
    provider.verify(BODY, headers, ca_source(pki), NOW)

    # WHEN the same URL is used 31 days later
    # THEN the cache entry is dropped, the certificate re-validated and refused
    with pytest.raises(InvalidSignature, match="not valid at this time"):
        provider.verify(BODY, headers, ca_source(pki), NOW + 31 * 86400)
    assert len(fetcher.calls) == 2


def test_failed_validation_is_not_cached(pki: dict[str, Issued]) -> None:
    # GIVEN a URL whose document failed validation once
    fetcher = FakeFetcher({CERT_URL: b"garbage"})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, ca_source(pki), NOW)

    # WHEN the URL later serves the right certificate THEN it is fetched again and verifies
    fetcher.documents[CERT_URL] = chain_document(pki["leaf"], pki["intermediate"])
    assert len(provider.verify(BODY, headers, ca_source(pki), NOW)) == 1


def test_cache_is_bounded(pki: dict[str, Issued]) -> None:
    # GIVEN a store holding at most two certificates
    document = chain_document(pki["leaf"], pki["intermediate"])
    urls = [f"{CERT_URL}-{i}" for i in range(3)]
    fetcher = FakeFetcher({url: document for url in urls})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher, max_entries=2))

    # WHEN three URLs are used, then the first one again
    for url in [*urls, urls[0]]:
        headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)
        provider.verify(BODY, headers, ca_source(pki), NOW)

    # THEN the oldest entry was evicted and fetched again
    assert fetcher.calls == [*urls, urls[0]]


# ------------------------------------------------------------------------------------------
# The real urllib fetcher, against a local http.server (STAGE=local loopback allowance)
# ------------------------------------------------------------------------------------------


class _CertServer(http.server.ThreadingHTTPServer):
    document: bytes = b""
    requested: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the fetcher hangs up on over-size answers: a broken pipe here is expected


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CertServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.requested.append(self.path)
        if self.path == "/cert":
            self._send(200, self.server.document)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cert")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self._send(200, b"A" * (paypal_fetch.MAX_CERT_DOCUMENT_BYTES + 1))
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"A" * 4096
            for _ in range(20):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/error":
            self._send(500, b"oops")
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def cert_server(pki: dict[str, Issued]) -> Iterator[_CertServer]:
    server = _CertServer(("127.0.0.1", 0), _Handler)
    server.document = chain_document(pki["leaf"], pki["intermediate"])
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def local_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "local")
    # An environment proxy that does not exist: the fetcher must ignore it.
    for scheme in ("http", "https", "all"):
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
            monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def local_url(server: _CertServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def local_source(pki: dict[str, Issued]) -> SourceConfig:
    return ca_source(pki, certHosts=["127.0.0.1"], allowLoopbackCertHost=True)


@pytest.mark.usefixtures("local_stage")
def test_real_fetcher_fetches_a_local_certificate_ignoring_env_proxies(
    pki: dict[str, Issued], cert_server: _CertServer
) -> None:
    # GIVEN STAGE=local, the loopback allowance, a local server serving the test chain, and
    # HTTP(S)_PROXY pointing at a dead proxy
    provider = PayPalProvider(CertificateStore())  # the real urllib fetcher
    url = local_url(cert_server, "/cert")
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN the delivery is verified twice
    provider.verify(BODY, headers, local_source(pki), NOW)
    events = provider.verify(BODY, headers, local_source(pki), NOW)

    # THEN it verifies, the server was asked directly (no proxy) and only once (cache)
    assert len(events) == 1
    assert cert_server.requested == ["/cert"]


@pytest.mark.usefixtures("local_stage")
def test_real_fetcher_does_not_follow_redirects(
    pki: dict[str, Issued], cert_server: _CertServer
) -> None:
    # GIVEN a cert URL that answers 302 to the genuine certificate
    provider = PayPalProvider(CertificateStore())
    url = local_url(cert_server, "/redirect")
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN the redirect is a refusal, and its target was never requested
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, local_source(pki), NOW)
    assert cert_server.requested == ["/redirect"]


@pytest.mark.usefixtures("local_stage")
@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/big", InvalidSignature),
        ("/big-chunked", InvalidSignature),
        ("/missing", InvalidSignature),
        ("/error", DependencyUnavailable),
    ],
)
def test_real_fetcher_refusals_and_failures(
    pki: dict[str, Issued], cert_server: _CertServer, path: str, error: type[Exception]
) -> None:
    # GIVEN a cert URL that answers too much, 404 or 500
    provider = PayPalProvider(CertificateStore())
    url = local_url(cert_server, path)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN over-size and 404 are refusals, a 500 is a retryable dependency failure
    with pytest.raises(error):
        provider.verify(BODY, headers, local_source(pki), NOW)


@pytest.mark.usefixtures("local_stage")
def test_real_fetcher_connection_failure_is_dependency_unavailable(pki: dict[str, Issued]) -> None:
    # GIVEN a loopback port on which nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cert"
    provider = PayPalProvider(CertificateStore(fetcher=UrllibCertFetcher(timeout_seconds=2)))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN a 503, not a bad signature
    with pytest.raises(DependencyUnavailable):
        provider.verify(BODY, headers, local_source(pki), NOW)


def test_real_fetcher_refuses_other_schemes_itself() -> None:
    # GIVEN the fetcher called directly with a file: URL (check_cert_url normally runs first)
    # WHEN / THEN it refuses without opening anything
    with pytest.raises(InvalidSignature):
        UrllibCertFetcher()("file:///etc/passwd")


# ------------------------------------------------------------------------------------------
# Registry and event types
# ------------------------------------------------------------------------------------------


def test_importing_the_provider_does_not_import_cryptography() -> None:
    # GIVEN a fresh interpreter WHEN the provider module is imported
    code = (
        "import sys, chalicelib.providers.paypal as p; "
        "assert p.PROVIDER.name == 'paypal'; "
        "print(any(m == 'cryptography' or m.startswith('cryptography.') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    # THEN cryptography is not loaded yet (cold start)
    assert result.stdout.strip() == "False"


def test_registry_exposes_the_provider() -> None:
    # GIVEN / WHEN the registry loads "paypal" THEN it is the module's PayPalProvider
    provider = get_provider("paypal")
    assert isinstance(provider, PayPalProvider)
    assert provider.name == "paypal"
    assert provider.certificates is paypal_certs.DEFAULT_STORE


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("PAYMENT.CAPTURE.COMPLETED", True),
        ("PAYMENT.CAPTURE.REFUNDED", True),
        ("PAYMENT.AUTHORIZATION.CREATED", True),
        ("CUSTOMER.DISPUTE.CREATED", True),
        ("PAYMENT.SALE.COMPLETED", True),
        ("CHECKOUT.ORDER.APPROVED", True),
        ("BILLING.PLAN.CREATED", False),
        ("PAYMENT.CAPTUREX", False),
        ("payment.capture.completed", False),
        ("", False),
    ],
)
def test_is_payment_event(event_type: str, expected: bool) -> None:
    # GIVEN an event type WHEN classified THEN only the payment families count
    provider = PayPalProvider(CertificateStore(fetcher=FakeFetcher()))
    assert provider.is_payment_event(event_type) is expected
