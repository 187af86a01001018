"""Every sample ``ops send`` can produce normalizes to a valid PaymentEvent (or is ignored).

The operator's sample catalog is what developers send to the local stack, so it must never drift
from what the normalizers accept.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from tests import samples
from tests.unit.payments import payloads
from tests.unit.payments.schema import assert_valid

catalog = pytest.importorskip("ops.samples")
IGNORED = {("stripe", "customer.created")}
CASES = [(provider, name) for provider in catalog.providers() for name in catalog.sample_names(provider)]


@pytest.mark.parametrize(("provider", "name"), CASES)
def test_every_sample_normalizes(provider: str, name: str) -> None:
    options = catalog.SampleOptions(payment_id=None, now=1_707_998_400)
    if provider in samples.SOURCES:
        # What the receiver stores: the provider's own split of the signed delivery into events
        # (one Adyen notification item, one GoCardless event...).
        built, delivery = samples.signed_sample(provider, name, options, timestamp=1_707_998_400)
        headers = {key.lower(): value for key, value in delivery.headers.items()}
        [inbound] = get_provider(provider).verify(delivery.body, headers, source_for(provider), 1_707_998_400)
        document = json.loads(inbound.payload)
    else:  # PayPal is not in the tests' stack (its certificates): one event per delivery
        built = catalog.build(provider, name, options)
        document = built.document
    webhook = payloads.record(provider, built.event_type, document, event_id=built.event_id)
    event = get_provider(provider).normalize(webhook)
    if (provider, name) in IGNORED:
        assert event is None
        return
    assert event is not None
    assert_valid(event.to_json())
    json.dumps(event.to_json())


def source_for(name: str) -> SourceConfig:
    entry = samples.SOURCES[name]
    return SourceConfig(name, str(entry.get("provider", name)), tuple(entry["secrets"]),
                        options={k: v for k, v in entry.items() if k not in ("secrets", "provider")})
