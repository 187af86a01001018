"""PayPal provider: the transmission-time window (toleranceSeconds) and the transmission id.

The signature covers a CRC32 of the body, not a cryptographic hash, so a captured transmission
must expire and each event must name its transmission (issue #12, item 1). PayPal retries a
failed delivery 25 times over 3 days and does not document that a retry is signed afresh, so the
default window of a PayPal source admits a transmission 3 days old (4 days at most).
"""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib import sources
from chalicelib.errors import ConfigurationError, InvalidSignature, SignatureExpired
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import window
from tests.unit.providers.paypal.helpers import (
    BODY,
    CERT_URL,
    NOW,
    NOW_DT,
    WEBHOOK_ID,
    real_provider,
    real_source,
    serving_genuine,
)
from tests.unit.providers.paypal_pki import Issued, RealDelivery, new_key, sign_delivery

DAY_SECONDS = 86400
TRANSMISSION_ID = "b2384410-f8d2-11e7-8a8e-3f2a0a2d5f7e"


def configured(pki: dict[str, Issued], **entry: object) -> SourceConfig:
    """A PayPal source as the sources secret would configure it (its defaults applied)."""
    document = {"provider": "paypal", "secrets": [WEBHOOK_ID], "trustRootsPem": pki["root"].pem, **entry}
    return sources.parse_source("paypal-main", document, "prod")


def signed_at(pki: dict[str, Issued], at: float, transmission_id: str = TRANSMISSION_ID) -> dict[str, str]:
    stamp = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return sign_delivery(
        pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL, transmission_id=transmission_id, transmission_time=stamp
    )


# --------------------------------------------------------------------------------------------
# Configuration: the default admits PayPal's retries, and no more than 4 days
# --------------------------------------------------------------------------------------------


def test_a_paypal_source_defaults_to_four_days(pki: dict[str, Issued]) -> None:
    # GIVEN / WHEN a PayPal source configured without toleranceSeconds
    # THEN its window is 4 days: PayPal's 3 days of retries, plus a day
    assert configured(pki).tolerance_seconds == window.DEFAULT_TOLERANCE_SECONDS == 4 * DAY_SECONDS


def test_other_providers_keep_their_five_minutes() -> None:
    # GIVEN / WHEN a Stripe source without toleranceSeconds THEN 300 s, at most 3600 as before
    assert sources.parse_source("stripe", {"secrets": ["whsec_x"]}).tolerance_seconds == 300
    with pytest.raises(ConfigurationError, match=r"1\.\.3600"):
        sources.parse_source("stripe", {"secrets": ["whsec_x"], "toleranceSeconds": 3601})


@pytest.mark.parametrize("tolerance", [1, 600, 4 * DAY_SECONDS])
def test_a_paypal_source_may_configure_up_to_four_days(pki: dict[str, Issued], tolerance: int) -> None:
    assert configured(pki, toleranceSeconds=tolerance).tolerance_seconds == tolerance


@pytest.mark.parametrize("tolerance", [0, 4 * DAY_SECONDS + 1, 30 * DAY_SECONDS, True, "600"])
def test_a_paypal_source_may_not_configure_more(pki: dict[str, Issued], tolerance: object) -> None:
    with pytest.raises(ConfigurationError, match="toleranceSeconds"):
        configured(pki, toleranceSeconds=tolerance)


# --------------------------------------------------------------------------------------------
# The window, through the provider (real RSA signatures, fake fetcher)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "age_seconds",
    [0, 60, 3600, DAY_SECONDS, 3 * DAY_SECONDS, 4 * DAY_SECONDS],
    ids=["fresh", "1-min", "1-hour", "1-day", "last-retry-3-days", "edge-4-days"],
)
def test_default_window_admits_retries_with_the_first_headers(pki: dict[str, Issued], age_seconds: int) -> None:
    # GIVEN a delivery re-sent with the headers of a transmission signed `age_seconds` ago
    provider, _ = serving_genuine(pki)
    headers = signed_at(pki, NOW - age_seconds)

    # WHEN / THEN a PayPal source with the default window accepts it
    assert len(provider.verify(BODY, headers, configured(pki), NOW)) == 1


@pytest.mark.parametrize("age_seconds", [4 * DAY_SECONDS + 1, 30 * DAY_SECONDS, 9 * 365 * DAY_SECONDS])
def test_default_window_refuses_older_transmissions(pki: dict[str, Issued], age_seconds: int) -> None:
    # GIVEN an authentic transmission older than 4 days
    provider, _ = serving_genuine(pki)
    headers = signed_at(pki, NOW - age_seconds)

    # WHEN / THEN 401 signature_expired
    with pytest.raises(SignatureExpired) as raised:
        provider.verify(BODY, headers, configured(pki), NOW)
    assert (raised.value.status, raised.value.code) == (401, "signature_expired")


def test_a_configured_window_is_applied(pki: dict[str, Issued]) -> None:
    # GIVEN a source that accepts transmissions up to 10 minutes old
    provider, _ = serving_genuine(pki)
    source = configured(pki, toleranceSeconds=600)

    # WHEN / THEN 600 s old verifies, 601 s old is expired
    assert len(provider.verify(BODY, signed_at(pki, NOW - 600), source, NOW)) == 1
    with pytest.raises(SignatureExpired):
        provider.verify(BODY, signed_at(pki, NOW - 601), source, NOW)


@pytest.mark.parametrize(
    ("ahead_seconds", "accepted"),
    [(1, True), (window.FUTURE_SKEW_SECONDS, True), (window.FUTURE_SKEW_SECONDS + 1, False), (DAY_SECONDS, False)],
)
def test_future_times_get_only_a_small_skew(pki: dict[str, Issued], ahead_seconds: int, accepted: bool) -> None:
    # GIVEN a transmission claiming a time ahead of our clock (a 4-day window is for the past only)
    provider, _ = serving_genuine(pki)
    headers = signed_at(pki, NOW + ahead_seconds)

    # WHEN / THEN a few minutes of clock skew pass, more is expired
    if accepted:
        assert len(provider.verify(BODY, headers, configured(pki), NOW)) == 1
    else:
        with pytest.raises(SignatureExpired):
            provider.verify(BODY, headers, configured(pki), NOW)


def test_the_future_skew_is_never_wider_than_the_window(pki: dict[str, Issued]) -> None:
    # GIVEN a source with a 60 s window WHEN a transmission is 61 s ahead THEN it is expired
    provider, _ = serving_genuine(pki)
    with pytest.raises(SignatureExpired):
        provider.verify(BODY, signed_at(pki, NOW + 61), configured(pki, toleranceSeconds=60), NOW)


def test_a_stale_forgery_is_an_invalid_signature_not_an_expired_one(pki: dict[str, Issued]) -> None:
    # GIVEN an old transmission signed with an attacker's key
    provider, _ = serving_genuine(pki)
    stamp = (NOW_DT - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = sign_delivery(new_key(), BODY, WEBHOOK_ID, CERT_URL, transmission_time=stamp)

    # WHEN / THEN the signature is checked first: signature_expired means "authentic but stale"
    with pytest.raises(InvalidSignature, match="does not verify"):
        provider.verify(BODY, headers, configured(pki), NOW)


@pytest.mark.parametrize(
    "value",
    ["2026-06-01 12:00:00Z", "2026-06-01T12:00:00", "2026-13-01T12:00:00Z", "1780315200", "yesterday",
     "2026-06-01T12:00:00+25:00", "２０２６-06-01T12:00:00Z"],
)
def test_an_unreadable_transmission_time_is_refused_without_fetching(pki: dict[str, Issued], value: str) -> None:
    # GIVEN a transmission time that is not an RFC 3339 date-time (signed or not)
    provider, fetcher = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL, transmission_time=value)

    # WHEN / THEN refused before any certificate fetch
    with pytest.raises(InvalidSignature, match="transmission time"):
        provider.verify(BODY, headers, configured(pki), NOW)
    assert fetcher.calls == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-03-30T20:04:05Z", 1490904245.0),
        ("2017-03-30T20:04:05.250Z", 1490904245.25),
        ("2017-03-30T22:04:05+02:00", 1490904245.0),
        ("2017-03-30T20:04:05.123456789Z", 1490904245.123456789),
    ],
)
def test_transmission_times_are_read_as_rfc3339(value: str, expected: float) -> None:
    assert window.parse_transmission_time(value) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------
# The real 2017 delivery, and the transmission id
# --------------------------------------------------------------------------------------------


def test_real_delivery_is_refused_once_its_window_has_passed(real: RealDelivery) -> None:
    # GIVEN PayPal's real delivery (its certificate valid until 2019) and the default 4-day window
    provider, _ = real_provider(real)
    source = real_source(real)
    source = SourceConfig(
        source.name, source.provider, source.secrets, window.DEFAULT_TOLERANCE_SECONDS, source.options, source.stage
    )

    # WHEN it is replayed 3 days later THEN it verifies (a PayPal retry)
    assert len(provider.verify(real.body, real.headers(), source, real.transmitted_at + 3 * DAY_SECONDS)) == 1
    # WHEN it is replayed 4 days and a second later (certificate still valid) THEN it is expired
    with pytest.raises(SignatureExpired):
        provider.verify(real.body, real.headers(), source, real.transmitted_at + 4 * DAY_SECONDS + 1)


def test_real_delivery_names_its_transmission(real: RealDelivery) -> None:
    # GIVEN / WHEN PayPal's real delivery is verified at its own time
    provider, _ = real_provider(real)
    events = provider.verify(real.body, real.headers(), real_source(real), real.transmitted_at)

    # THEN the event carries the paypal-transmission-id header, for ingest's one-body rule
    assert [event.transmission_id for event in events] == ["071f7d20-1584-11e7-abf0-6b62a8a99ac4"]
    assert events[0].transmission_id == real.transmission_id


@pytest.mark.parametrize("transmission_id", ["0b6f6a80-f8d2-11e7-8a8e-3f2a0a2d5f7e", "another-transmission"])
def test_every_event_names_its_transmission(pki: dict[str, Issued], transmission_id: str) -> None:
    # GIVEN a signed delivery under a given transmission id
    provider, _ = serving_genuine(pki)
    headers = signed_at(pki, NOW, transmission_id=transmission_id)

    # WHEN / THEN its event carries exactly that id
    [event] = provider.verify(BODY, headers, configured(pki), NOW)
    assert event.transmission_id == transmission_id
