"""Constants and builders shared by the PayPal provider tests (fixtures are in conftest.py)."""

from __future__ import annotations

import datetime as dt
import json

from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import CertificateStore
from tests.unit.providers.paypal_pki import (
    FakeFetcher,
    Issued,
    RealDelivery,
    pem,
)

NOW_DT = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
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


def source(*webhook_ids: str, stage: str = "prod", **options: object) -> SourceConfig:
    return SourceConfig(
        name="paypal-main",
        provider="paypal",
        secrets=webhook_ids or (WEBHOOK_ID,),
        options=options,
        stage=stage,
    )


def ca_source(
    pki: dict[str, Issued], *webhook_ids: str, stage: str = "prod", **options: object
) -> SourceConfig:
    return source(*webhook_ids, stage=stage, trustRootsPem=pki["root"].pem, **options)


def chain_document(leaf: Issued, *intermediates: Issued) -> bytes:
    return pem(leaf.certificate, *(ca.certificate for ca in intermediates)).encode()


def provider_serving(documents: dict[str, bytes]) -> tuple[PayPalProvider, FakeFetcher]:
    fetcher = FakeFetcher(documents)
    return PayPalProvider(CertificateStore(fetcher=fetcher)), fetcher


def serving_genuine(pki: dict[str, Issued]) -> tuple[PayPalProvider, FakeFetcher]:
    """A provider whose fake fetcher serves the test leaf and its intermediate at CERT_URL."""
    return provider_serving({CERT_URL: chain_document(pki["leaf"], pki["intermediate"])})


def real_provider(
    real: RealDelivery, with_intermediate: bool = True
) -> tuple[PayPalProvider, FakeFetcher]:
    document = real.leaf_pem + (real.intermediate_pem if with_intermediate else "")
    return provider_serving({real.cert_url: document.encode()})


def real_source(real: RealDelivery, *webhook_ids: str, stage: str = "prod", **options: object) -> SourceConfig:
    # certifi no longer carries DigiCert High Assurance EV Root CA (see the test below), so the
    # source is configured with that root, embedded in paypal_pki with its fingerprint pinned:
    # the chain still ends at the real root, not at the intermediate.
    options.setdefault("trustRootsPem", real.root_pem)
    return source(*(webhook_ids or (real.webhook_id,)), stage=stage, **options)
