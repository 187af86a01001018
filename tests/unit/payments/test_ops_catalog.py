"""Every sample ``ops send`` can produce normalizes to a valid PaymentEvent (or is ignored).

The operator's sample catalog is what developers send to the local stack, so it must never drift
from what the normalizers accept.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.providers import get_provider
from tests.unit.payments import payloads
from tests.unit.payments.schema import assert_valid

catalog = pytest.importorskip("ops.samples")
IGNORED = {("stripe", "customer.created")}
CASES = [(provider, name) for provider in catalog.providers() for name in catalog.sample_names(provider)]


@pytest.mark.parametrize(("provider", "name"), CASES)
def test_every_sample_normalizes(provider: str, name: str) -> None:
    built = catalog.build(provider, name, catalog.SampleOptions(payment_id=None, now=1_707_998_400))
    document = built.document
    if provider == "adyen":
        document = document["notificationItems"][0]
    webhook = payloads.record(provider, built.event_type, document, event_id=built.event_id)
    event = get_provider(provider).normalize(webhook)
    if (provider, name) in IGNORED:
        assert event is None
        return
    assert event is not None
    assert_valid(event.to_json())
    json.dumps(event.to_json())
