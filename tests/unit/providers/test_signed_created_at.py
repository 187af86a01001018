"""``InboundEvent.signed_created_at``: the time inside the signed content each verifier hands over.

It must come from what the signature covers (a signed header, or a body signed whole), never from
anything else; None wherever the signed content has no readable time (Adyen's HMAC covers none),
so that the event keeps its dedupe marker instead. PayPal's (the RSA-signed transmission time) is
checked through the route in tests/functional/test_hostile_replays.py, which needs its test CA.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.providers import get_provider
from chalicelib.providers._helpers import signed_rfc3339_time, signed_unix_time
from chalicelib.providers.contract import InboundEvent, SourceConfig
from ops import samples as catalog
from ops.delivery import SigningMaterial, sign
from providers_tooling import gocardless, razorpay, square
from providers_tooling.contract import Delivery
from tests import samples

T = 1_767_225_600  # 2026-01-01T00:00:00Z


def source(provider: str) -> SourceConfig:
    entry = samples.SOURCES[provider]
    options = {key: value for key, value in entry.items() if key not in ("provider", "secrets")}
    return SourceConfig(provider, provider, tuple(entry["secrets"]), options=options)


def verified(provider: str, delivery: Delivery, now: float = T) -> list[InboundEvent]:
    headers = {key.lower(): value for key, value in delivery.headers.items()}
    return get_provider(provider).verify(delivery.body, headers, source(provider), now)


def signed_sample(provider: str, created_at: float, signed_at: float) -> Delivery:
    name = catalog.sample_names(provider)[0]
    event = catalog.build(provider, name, catalog.SampleOptions(now=created_at))
    return sign(event, SigningMaterial.from_source(samples.SOURCES[provider], provider), now=signed_at)


def body_time(provider: str, document: dict[str, Any]) -> Any:
    return document["events"][0]["created_at"] if provider == "gocardless" else document["created_at"]


@pytest.mark.parametrize("provider", ["stripe", "standard"])
def test_a_signed_header_time_is_the_signed_creation_time(provider: str) -> None:
    # GIVEN an event created a minute before the attempt that signs it
    delivery = signed_sample(provider, created_at=T - 60, signed_at=T)
    # THEN the signed header time is handed over (Stripe's `t`, not the body's `created`)
    [event] = verified(provider, delivery)
    assert event.signed_created_at == T


@pytest.mark.parametrize("provider", ["square", "gocardless", "razorpay"])
def test_a_body_signed_whole_hands_over_its_creation_time(provider: str) -> None:
    # GIVEN an event created 3 days before this (re-sent, unchanged) delivery
    delivery = signed_sample(provider, created_at=T - 3 * 86_400, signed_at=T)
    [event] = verified(provider, delivery)
    # THEN its body's own creation time is handed over, as Unix seconds
    stated = body_time(provider, json.loads(delivery.body))
    assert event.signed_created_at is not None
    assert abs(event.signed_created_at - (T - 3 * 86_400)) <= 60  # a sample may date itself seconds earlier
    if isinstance(stated, str):
        assert event.signed_created_at == datetime.fromisoformat(stated).timestamp()
    else:
        assert event.signed_created_at == stated


def test_adyen_signs_no_time() -> None:
    # Adyen's HMAC covers eight fields, none of them a time (eventDate is not signed)
    delivery = signed_sample("adyen", created_at=T, signed_at=T)
    assert [event.signed_created_at for event in verified("adyen", delivery)] == [None]


def resigned(provider: str, document: dict[str, Any]) -> Delivery:
    body = json.dumps(document).encode()
    if provider == "square":
        return Delivery(body, square.signed_headers(body, samples.SQUARE_KEY, samples.SQUARE_URL))
    if provider == "gocardless":
        return Delivery(body, gocardless.signed_headers(body, gocardless.TEST_SECRET))
    return Delivery(body, razorpay.signed_headers(body, razorpay.TEST_SECRET, "evt_1"))


UNREADABLE = [None, "", "2026-01-01", "2026-01-01T00:00:00", "２０２６-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
              1_767_225_600, True, "x" * 100]


@pytest.mark.parametrize("provider", ["square", "gocardless"])
@pytest.mark.parametrize("value", UNREADABLE)
def test_a_signed_body_without_a_readable_time_keeps_its_marker(provider: str, value: Any) -> None:
    # GIVEN a signed body whose created_at is absent or not an RFC 3339 time with a zone
    document = json.loads(signed_sample(provider, created_at=T, signed_at=T).body)
    target = document["events"][0] if provider == "gocardless" else document
    if value is None:
        del target["created_at"]
    else:
        target["created_at"] = value
    # THEN it verifies as before, without a signed creation time (ingest keeps a marker for it)
    [event] = verified(provider, resigned(provider, document))
    assert event.signed_created_at is None


@pytest.mark.parametrize("value", [None, "1767225600", 1.5e9, True, -1, 0, 2**40])
def test_a_razorpay_body_without_a_unix_created_at_keeps_its_marker(value: Any) -> None:
    document = json.loads(signed_sample("razorpay", created_at=T, signed_at=T).body)
    if value is None:
        del document["created_at"]
    else:
        document["created_at"] = value
    delivery = resigned("razorpay", document)
    [event] = verified("razorpay", delivery)
    assert event.signed_created_at is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-01T00:00:00Z", T),
    ("2026-01-01T00:00:00.250Z", T + 0.25),
    ("2026-01-01T01:00:00+01:00", T),
    ("2020-02-25T17:35:59.083Z", datetime(2020, 2, 25, 17, 35, 59, 83000, tzinfo=UTC).timestamp()),
])
def test_rfc3339_times_with_a_zone_are_read(value: str, expected: float) -> None:
    assert signed_rfc3339_time(value) == expected


def test_unix_times_are_integers_only() -> None:
    assert signed_unix_time(T) == float(T)
    assert [signed_unix_time(v) for v in (True, 1.5, "1", 0, 2**33, None)] == [None] * 6


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-01T00:00:00.000001Z", T + 0.000001),  # microseconds
    ("2026-01-01T00:00:00.1Z", T + 0.1),  # one fraction digit
    ("2026-01-01T00:00:00.123456789Z", T + 0.123456),  # nanoseconds: read to the microsecond
    ("2025-12-31T19:00:00-05:00", T),  # a negative offset
    ("2026-01-01T05:45:00+05:45", T),  # an offset in minutes
    ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC).timestamp()),  # a leap day
    ("1970-01-01T00:00:00Z", 0.0),
])
def test_odd_but_valid_rfc3339_times_are_read_exactly(value: str, expected: float) -> None:
    assert signed_rfc3339_time(value) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("value", [
    "2025-02-29T00:00:00Z",  # no leap day that year
    "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",  # out of range
    "2026-01-01 00:00:00Z", "2026-01-01t00:00:00z", "20260101T000000Z",  # other ISO 8601 shapes
    "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01", "2026-01-01T00:00Z",
    "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00 Z", " 2026-01-01T00:00:00Z",
])
def test_times_outside_the_shape_or_the_calendar_are_unreadable(value: str) -> None:
    assert signed_rfc3339_time(value) is None
