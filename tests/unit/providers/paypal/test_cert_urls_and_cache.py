"""PayPal provider: the certificate URL is refused before any fetch unless allowed; validated certificates are cached.

Certificates come from a fake fetcher that records its calls, except in test_fetcher.py, which
uses the real urllib fetcher against a local http.server on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import (
    DependencyUnavailable,
    InvalidSignature,
)
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import FAILURE_TTL_SECONDS, MAX_FETCHES_PER_MINUTE, CertificateStore
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
        "https://evilapi.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com@evil.example/v1/notifications/certs/CERT-1",
        "https://user:pass@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:443/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:/v1/notifications/certs/CERT-1",
        "https://api.paypal.com./v1/notifications/certs/CERT-1",
        "https://1.2.3.4/v1/notifications/certs/CERT-1",
        "https://[::1]/v1/notifications/certs/CERT-1",
        "https://127.0.0.1/v1/notifications/certs/CERT-1",
        "https://localhost/v1/notifications/certs/CERT-1",
        "https://2130706433/v1/notifications/certs/CERT-1",
        "https://api.paypal.com\\@evil.example/v1/notifications/certs/CERT-1",
        "https://api.paypal.com%2eevil.example/v1/notifications/certs/CERT-1",
        "https://api.paypal.com /v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1\r\nHost: evil.example",
        "https://api.pаypal.com/v1/notifications/certs/CERT-1",  # Cyrillic "а"
        "ftp://api.paypal.com/v1/notifications/certs/CERT-1",
        "file:///etc/passwd",
        "//api.paypal.com/v1/notifications/certs/CERT-1",
        "https:///api.paypal.com/v1/notifications/certs/CERT-1",
        "api.paypal.com/v1/notifications/certs/CERT-1",
        "not a url",
        "https://" + "a" * 3000,
        # Allowed host, but not exactly PayPal's certificate path (issue #12, item 5)
        "https://api.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1?",
        "https://api.paypal.com/v1/notifications/certs/CERT-1#fragment",
        "https://api.paypal.com/v1/notifications/certs/CERT-1#",
        "https://api.paypal.com/v1/oauth2/token",
        "https://api.paypal.com/",
        "https://api.paypal.com",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/CERT-",
        "https://api.paypal.com/v1/notifications/certs/CERT--1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1-",
        "https://api.paypal.com/v1/notifications/certs/cert-1",
        "https://api.paypal.com/V1/notifications/certs/CERT-1",
        "https://api.paypal.com//v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1/",
        "https://api.paypal.com/v1/notifications/certs/CERT-1/extra",
        "https://api.paypal.com/v1/notifications/certs/CERT-1.pem",
        "https://api.paypal.com/v1/notifications/certs/CERT-1;jsessionid=x",
        "https://api.paypal.com/v1/notifications/certs/CERT-%31",
        "https://api.paypal.com/v1/notifications/certs/../../oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/CERT-1/../../../oauth2/token",
        "https://api.paypal.com/v1/notifications/certs/CERT-" + "a" * 65,
        # Userinfo and port tricks with the pinned path
        "https://user@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://:@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:0443/v1/notifications/certs/CERT-1",
    ],
)
def test_disallowed_cert_urls_are_refused_before_any_fetch(
    pki: dict[str, Issued], url: str
) -> None:
    # GIVEN a delivery whose cert URL must not be fetched (loopback/IP hosts even when listed)
    provider, fetcher = provider_serving({})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)
    options: dict[str, Any] = {
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
    url = "http://127.0.0.1:8080/v1/notifications/certs/CERT-1"
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
    url = "http://127.0.0.1:8080/v1/notifications/certs/CERT-1"
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN refused without fetching
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, headers, ca_source(pki, stage="local", **options), NOW)
    assert fetcher.calls == []


def test_local_stage_does_not_allow_other_ip_literals(pki: dict[str, Issued]) -> None:
    # GIVEN the local allowance and a listed, non-loopback IP literal
    url = "https://10.0.0.1/v1/notifications/certs/CERT-1"
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


def test_failed_validation_is_remembered_briefly_then_retried(pki: dict[str, Issued]) -> None:
    # GIVEN a URL whose document failed validation once
    fetcher = FakeFetcher({CERT_URL: b"garbage"})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    with pytest.raises(InvalidSignature, match="not trusted"):
        provider.verify(BODY, headers, ca_source(pki), NOW)

    # WHEN the same URL comes back within a minute, even once it serves the right certificate
    fetcher.documents[CERT_URL] = chain_document(pki["leaf"], pki["intermediate"])
    for seconds_later in (1, 30, FAILURE_TTL_SECONDS - 1):
        # THEN the same refusal is answered from memory, without fetching
        with pytest.raises(InvalidSignature, match="not trusted"):
            provider.verify(BODY, headers, ca_source(pki), NOW + seconds_later)
    assert fetcher.calls == [CERT_URL]

    # WHEN the failure has expired THEN the URL is fetched again and verifies
    assert len(provider.verify(BODY, headers, ca_source(pki), NOW + FAILURE_TTL_SECONDS)) == 1
    assert fetcher.calls == [CERT_URL, CERT_URL]


def test_a_flood_of_one_bad_cert_url_fetches_once(pki: dict[str, Issued]) -> None:
    # GIVEN an allowed, well-formed cert URL at which nothing valid is served
    bad_url = CERT_URL.replace("1d93a270", "deadbeef")
    fetcher = FakeFetcher({bad_url: b"not a certificate"})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, bad_url)

    # WHEN a hundred deliveries name it within the minute
    for i in range(100):
        with pytest.raises(InvalidSignature):
            provider.verify(BODY, headers, ca_source(pki), NOW + i * 0.5)

    # THEN it was fetched once
    assert fetcher.calls == [bad_url]


def test_a_fetch_outage_is_remembered_briefly_as_retryable(pki: dict[str, Issued]) -> None:
    # GIVEN PayPal's certificate host is unreachable
    fetcher = FakeFetcher(error=DependencyUnavailable("The signing certificate could not be fetched"))
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN deliveries keep arriving during the minute
    # THEN each is answered 503 (PayPal retries), and only the first one fetched
    for seconds_later in (0, 10, 59):
        with pytest.raises(DependencyUnavailable) as raised:
            provider.verify(BODY, headers, ca_source(pki), NOW + seconds_later)
        assert raised.value.status == 503
    assert fetcher.calls == [CERT_URL]


def test_fetches_are_bounded_per_minute_and_the_bound_is_retryable(pki: dict[str, Issued]) -> None:
    # GIVEN a store with PayPal's current certificate cached, then a flood of made-up cert ids
    document = chain_document(pki["leaf"], pki["intermediate"])
    fetcher = FakeFetcher({CERT_URL: document})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher))
    genuine = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    provider.verify(BODY, genuine, ca_source(pki), NOW)
    flood = [f"https://api.paypal.com/v1/notifications/certs/CERT-{i:08x}" for i in range(30)]
    for url in flood:
        fetcher.documents[url] = b"garbage"

    # WHEN thirty distinct URLs arrive within the minute
    answers = []
    for i, url in enumerate(flood):
        with pytest.raises((InvalidSignature, DependencyUnavailable)) as raised:
            provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url), ca_source(pki), NOW + 1 + i)
        answers.append(raised.value.status)

    # THEN the first fetch plus nine more used the budget (refused 401), the rest got 503 unfetched
    assert len(fetcher.calls) == MAX_FETCHES_PER_MINUTE
    assert answers == [401] * (MAX_FETCHES_PER_MINUTE - 1) + [503] * (30 - MAX_FETCHES_PER_MINUTE + 1)
    # AND the cached genuine certificate still verifies during the flood
    assert len(provider.verify(BODY, genuine, ca_source(pki), NOW + 31)) == 1
    # AND a minute after the first fetches the budget is back
    late = flood[-1]
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, late), ca_source(pki), NOW + 62)
    assert fetcher.calls[-1] == late


def test_remembered_failures_are_bounded(pki: dict[str, Issued]) -> None:
    # GIVEN a store remembering at most two failures
    urls = [f"https://api.paypal.com/v1/notifications/certs/CERT-{i}" for i in range(3)]
    fetcher = FakeFetcher({url: b"garbage" for url in urls})
    provider = PayPalProvider(CertificateStore(fetcher=fetcher, max_failures=2))

    # WHEN three bad URLs fail, then the first one comes back
    for url in [*urls, urls[0]]:
        with pytest.raises(InvalidSignature):
            provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url), ca_source(pki), NOW)

    # THEN the oldest failure was forgotten and fetched again
    assert fetcher.calls == [*urls, urls[0]]


@pytest.mark.parametrize(
    "variant",
    [
        "HTTPS://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        "https://API.PayPal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
    ],
)
def test_case_variants_of_a_cert_url_share_one_fetch(pki: dict[str, Issued], variant: str) -> None:
    # GIVEN the genuine certificate cached under its canonical URL
    provider, fetcher = serving_genuine(pki)
    provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL), ca_source(pki), NOW)

    # WHEN the same URL arrives with another case in its scheme or host
    events = provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, variant), ca_source(pki), NOW)

    # THEN it verifies from the cache: no new fetch, no new cache key
    assert len(events) == 1
    assert fetcher.calls == [CERT_URL]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
        "https://api.paypal.com/v1/notifications/certs/CERT-1",
    ],
)
def test_pinned_cert_urls_are_fetched(pki: dict[str, Issued], url: str) -> None:
    # GIVEN a delivery naming PayPal's certificate path on an allowed host
    provider, fetcher = provider_serving({url: chain_document(pki["leaf"], pki["intermediate"])})

    # WHEN / THEN it is fetched (exactly that URL) and verifies
    events = provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url), ca_source(pki), NOW)
    assert len(events) == 1
    assert fetcher.calls == [url]


def test_the_path_is_pinned_on_a_local_loopback_host_too(pki: dict[str, Issued]) -> None:
    # GIVEN a local stack's source, allowed a loopback host on any port over http
    document = chain_document(pki["leaf"], pki["intermediate"])
    good = "http://127.0.0.1:8080/v1/notifications/certs/CERT-1"
    bad = "http://127.0.0.1:8080/admin?x=1"
    provider, fetcher = provider_serving({good: document, bad: document})
    local = ca_source(pki, stage="local", certHosts=["127.0.0.1"], allowLoopbackCertHost=True)

    # WHEN / THEN the pinned path verifies, any other is refused without a fetch
    assert len(provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, good), local, NOW)) == 1
    with pytest.raises(InvalidSignature, match="certificate URL is not allowed"):
        provider.verify(BODY, sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, bad), local, NOW)
    assert fetcher.calls == [good]


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
