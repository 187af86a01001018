"""PayPal provider: the certificate URL is refused before any fetch unless allowed; validated certificates are cached.

Certificates come from a fake fetcher that records its calls, except in test_fetcher.py, which
uses the real urllib fetcher against a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from chalicelib.errors import (
    InvalidSignature,
)
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import CertificateStore
from tests.unit.providers.paypal.helpers import (
    BODY,
    CERT_URL,
    DAY,
    NOW,
    NOW_DT,
    WEBHOOK_ID,
    ca_source,
    chain_document,
    provider_serving,
    serving_genuine,
)
from tests.unit.providers.paypal_pki import (
    SANDBOX_SUBJECT,
    FakeFetcher,
    Issued,
    make_leaf,
    sign_delivery,
)


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
        "allowLoopbackCertHost": True,  # ignored: the stage is not "local"
    }

    # WHEN / THEN InvalidSignature, and the fetcher was never called
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, headers, ca_source(pki, **options), NOW)
    assert fetcher.calls == []


@pytest.mark.parametrize("stage", ["prod", "dev", "LOCAL", "local "])
def test_loopback_needs_the_local_stage(pki: dict[str, Issued], stage: str) -> None:
    # GIVEN a listed loopback host with the allowance option, in a stage other than "local"
    # (while the environment says STAGE=local: only the settings' stage counts)
    url = "http://127.0.0.1:8080/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(
            BODY,
            headers,
            ca_source(pki, stage=stage, certHosts=["127.0.0.1"], allowLoopbackCertHost=True),
            NOW,
        )
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "options",
    [{"certHosts": ["127.0.0.1"]}, {"allowLoopbackCertHost": True}],
    ids=["option-missing", "host-not-listed"],
)
def test_local_stage_alone_does_not_allow_loopback(pki: dict[str, Issued], options: dict) -> None:
    # GIVEN the local stage but the source lacks the option or does not list the host
    url = "http://127.0.0.1:8080/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, headers, ca_source(pki, stage="local", **options), NOW)
    assert fetcher.calls == []


def test_local_stage_does_not_allow_other_ip_literals(pki: dict[str, Issued]) -> None:
    # GIVEN the local allowance and a listed, non-loopback IP literal
    url = "https://10.0.0.1/cert"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(
            BODY,
            headers,
            ca_source(pki, stage="local", certHosts=["10.0.0.1"], allowLoopbackCertHost=True),
            NOW,
        )
    assert fetcher.calls == []


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
