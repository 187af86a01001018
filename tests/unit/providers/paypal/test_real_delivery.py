"""PayPal provider: the real PayPal sandbox delivery of 2017: it verifies at its own time and nowhere else.

Certificates come from a fake fetcher that records its calls, except in test_fetcher.py, which
uses the real urllib fetcher against a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import time

import certifi
import pytest

from chalicelib.errors import (
    InvalidSignature,
)
from chalicelib.providers import get_provider
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import DEFAULT_STORE
from tests.unit.providers.paypal.helpers import (
    real_provider,
    real_source,
    source,
)
from tests.unit.providers.paypal_pki import (
    PROD_SUBJECT,
    RealDelivery,
)


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
    assert provider.certificates is DEFAULT_STORE
