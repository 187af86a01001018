"""Replays after the record expired (issue 12 item 8, issue 16's marker lever), through the route.

A record stored at receipt r lives until r + R (R: ``RETENTION_DAYS``). Where the signed content
carries a time c <= r (plus clock skew), ingest refuses c older than R less a day, so no replay can
outlive its record and no dedupe marker is written; only Adyen, whose HMAC covers no time, keeps
one (docs/RELIABILITY.md, "Replays after the record expired").

Every delivery here is the provider's real signed shape: the ``ops send`` sample built at a frozen
time and signed by the provider's tooling signer (``ops.delivery.sign``) at that time. The
receiver's clock is moved instead of waiting; the record's TTL is played by deleting the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib import receiver, runtime
from chalicelib.errors import WebhookError
from chalicelib.ingest import EVENT_AGE_MARGIN_SECONDS, Delivery, receive
from chalicelib.providers import PROVIDER_NAMES
from chalicelib.webhooks.encoding import stored_digest
from chalicelib.webhooks.record import DEDUPE_ITEM_TYPE
from ops import samples as catalog
from ops.delivery import SigningMaterial, sign
from providers_tooling.contract import Delivery as SignedDelivery
from providers_tooling.gocardless.samples import delivery_of
from tests import samples
from tests.functional.helpers import log_lines, post, webhook_items
from tests.functional.test_hostile_deliveries import (  # noqa: F401  (paypal_source: a fixture, used by name)
    CERT_URL,
    PAYPAL_SOURCE,
    PAYPAL_WEBHOOK_ID,
    paypal_source,
)

DAY = 86_400
RETENTION_DAYS = 90
"""The local stage's ``RETENTION_DAYS`` (.chalice/config.json), which the tests' stack uses."""

# How long each provider keeps retrying a failed delivery, and whether a retry is signed afresh
# (docs/RELIABILITY.md has the sources). A first successful attempt at the end of that period
# must be accepted.
RETRY_PERIODS: dict[str, tuple[int, bool]] = {
    "stripe": (3 * DAY, True),  # "up to three days" (live mode); each attempt has its own `t`
    "standard": (28 * 3600, True),  # Svix's schedule ends about 27.6 h after the first try
    "paypal": (3 * DAY, False),  # "25 times over three days"; not documented as re-signed
    "square": (72 * 3600, False),  # "up to 72 hours after the originating event"
    "gocardless": (30 * DAY, False),  # 8 retries over hours; 30 days stands for a manual retry
    "razorpay": (15 * DAY, False),  # 24 h of retries; a replay on request for events up to 15 days
    "adyen": (30 * DAY, False),  # "queued for up to 30 days"
}
REFUSAL: dict[str, tuple[int, str]] = {
    # The header time is held to the verifier's tolerance (PayPal: its 4-day window) first.
    "stripe": (401, "signature_expired"),
    "standard": (401, "signature_expired"),
    "paypal": (401, "signature_expired"),
    # The time is in the signed body: refused by ingest's age check.
    "square": (400, "event_too_old"),
    "gocardless": (400, "event_too_old"),
    "razorpay": (400, "event_too_old"),
}


@dataclass
class Clock:
    now: float


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The receiver's clock (``time.time`` as ``chalicelib.receiver`` reads it), set by the test."""
    state = Clock(float(int(time.time())))
    monkeypatch.setattr(receiver, "time", SimpleNamespace(time=lambda: state.now))
    return state


def source_name(provider: str) -> str:
    return PAYPAL_SOURCE if provider == "paypal" else provider


def material(provider: str, paypal_key: Any) -> SigningMaterial:
    if provider != "paypal":
        return SigningMaterial.from_source(samples.SOURCES[provider], provider)
    key_pem = paypal_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningMaterial("paypal", PAYPAL_WEBHOOK_ID, local={"key_pem": key_pem, "cert_url": CERT_URL})


def built(provider: str, at: float) -> catalog.BuiltEvent:
    """The provider's first catalog sample, as it would have been created at ``at``."""
    name = catalog.sample_names(provider)[0]
    return catalog.build(provider, name, catalog.SampleOptions(now=at, payment_id=None))


@pytest.fixture
def signing(request: pytest.FixtureRequest) -> Any:
    """The PayPal test CA's signing key when the test is PayPal's (its source is set up then)."""
    provider = request.node.callspec.params.get("provider")
    return request.getfixturevalue("paypal_source") if provider == "paypal" else None


def deliver(client: Any, provider: str, delivery: SignedDelivery) -> Any:
    return post(client, source_name(provider), delivery.body, dict(delivery.headers))


def pks(stack: Any) -> set[str]:
    return {item["pk"]["S"] for item in stack.items()}


def expire_records(stack: Any) -> None:
    """The table as DynamoDB's TTL leaves it after R: every webhook record gone; a dedupe marker
    (Adyen's) kept, its record's expiry now in the past."""
    db = stack.session.client("dynamodb")
    table = stack.resources.table_name
    for item in webhook_items(stack):
        db.delete_item(TableName=table, Key={"pk": item["pk"]})
    for item in stack.items():
        if item["itemType"]["S"] == DEDUPE_ITEM_TYPE:
            db.update_item(
                TableName=table, Key={"pk": item["pk"]}, UpdateExpression="SET recordExpiresAt = :past",
                ExpressionAttributeValues={":past": {"N": "1"}},
            )


def dedupe_markers(stack: Any) -> list[dict[str, Any]]:
    return [item for item in stack.items() if item["itemType"]["S"] == DEDUPE_ITEM_TYPE]


def alerts(text: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(text) if "alert" in line]


SIGNED_TIME_PROVIDERS = [name for name in PROVIDER_NAMES if name != "adyen"]


def test_every_provider_but_adyen_has_its_replay_refusal_named() -> None:
    assert set(REFUSAL) == set(SIGNED_TIME_PROVIDERS) and set(RETRY_PERIODS) == set(PROVIDER_NAMES)


@pytest.mark.parametrize("provider", SIGNED_TIME_PROVIDERS)
def test_captured_bytes_replayed_after_the_record_expired_are_refused_and_no_marker_was_kept(
    client: Any, stack: Any, clock: Clock, signing: Any, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an event created, signed and delivered at T0: accepted, and no dedupe marker written
    delivery = sign(built(provider, clock.now), material(provider, signing), now=clock.now)
    first = deliver(client, provider, delivery)
    assert first.status_code == 200, first.body
    assert len(webhook_items(stack)) == 1
    assert dedupe_markers(stack) == []
    stack.drain()

    # WHEN the record has expired (R days on) and someone replays the captured bytes and headers
    clock.now += RETENTION_DAYS * DAY + 3600
    expire_records(stack)
    before = pks(stack)
    capsys.readouterr()
    replay = deliver(client, provider, delivery)

    # THEN it is refused with a 4xx that says why, and nothing is stored or queued
    status, code = REFUSAL[provider]
    assert (replay.status_code, json.loads(replay.body)["error"]) == (status, code)
    assert pks(stack) == before and webhook_items(stack) == [] and stack.drain() == []
    lines = log_lines(capsys.readouterr().out)
    [rejected] = [line for line in lines if line.get("outcome") == "rejected"]
    assert (rejected["level"], rejected["error"]) == ("WARNING", code)
    if code == "event_too_old":  # the age check's own refusal is alerted too, once
        [line] = [line for line in lines if "alert" in line]
        assert (line["alert"], line["level"], line["ageDays"]) == ("event_too_old", "WARNING", RETENTION_DAYS)


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_first_success_at_the_end_of_the_providers_retry_period_is_accepted(
    client: Any, stack: Any, clock: Clock, signing: Any, provider: str
) -> None:
    # GIVEN an event created at T0 whose deliveries all failed until the provider's last retry
    created_at = clock.now
    event = built(provider, created_at)
    retry_after, resigned = RETRY_PERIODS[provider]
    signed_at = created_at + retry_after if resigned else created_at
    delivery = sign(event, material(provider, signing), now=signed_at)

    # WHEN that last retry arrives
    clock.now = created_at + retry_after
    response = deliver(client, provider, delivery)

    # THEN it is accepted and stored
    assert response.status_code == 200, response.body
    assert len(webhook_items(stack)) == 1


def test_adyen_keeps_its_marker_and_answers_a_replay_after_expiry_duplicate(
    client: Any, stack: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an Adyen item (its HMAC covers no time) delivered at T0: record and marker stored
    delivery = sign(built("adyen", clock.now), material("adyen", None), now=clock.now)
    assert deliver(client, "adyen", delivery).status_code == 200
    [record] = webhook_items(stack)
    [marker] = dedupe_markers(stack)
    assert marker["pk"]["S"] == "seen#" + record["pk"]["S"]
    # (the digest and the record's expiry, no payload, kept 400 days: one write unit)
    assert set(marker) == {"pk", "itemType", "payloadSha256", "recordExpiresAt", "expiresAt"}
    assert stored_digest(marker) == stored_digest(record)
    assert marker["recordExpiresAt"] == record["expiresAt"]
    assert int(marker["expiresAt"]["N"]) - int(record["expiresAt"]["N"]) == (400 - RETENTION_DAYS) * DAY
    stack.drain()

    # WHEN the record has expired and the captured bytes are replayed
    clock.now += RETENTION_DAYS * DAY + 3600
    expire_records(stack)
    before = pks(stack)
    capsys.readouterr()
    replay = deliver(client, "adyen", delivery)

    # THEN the marker answers it: a duplicate, not stored or queued again, nothing alerted
    assert replay.status_code == 200 and replay.body == b"[accepted]"
    [line] = [line for line in log_lines(capsys.readouterr().out) if line.get("message") == "webhook received"]
    assert line["outcome"] == "duplicate"
    assert pks(stack) == before and webhook_items(stack) == [] and stack.drain() == []


def square_at(created_at: float) -> tuple[bytes, dict[str, str]]:
    delivery = sign(built("square", created_at), material("square", None), now=created_at)
    return delivery.body, dict(delivery.headers)


def test_the_bound_sits_a_day_inside_the_retention_where_the_record_still_answers(
    client: Any, stack: Any, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Square event delivered at T0 (its record lives until T0 + R)
    created_at = clock.now
    body, headers = square_at(created_at)
    first = json.loads(post(client, "square", body, headers).body)
    bound = created_at + RETENTION_DAYS * DAY - EVENT_AGE_MARGIN_SECONDS

    # WHEN it is replayed a minute before the bound THEN the record is still there: duplicate
    clock.now = bound - 60
    before = post(client, "square", body, headers)
    assert json.loads(before.body) == {"webhookId": first["webhookId"], "status": "duplicate"}

    # WHEN it is replayed a minute after the bound THEN it is refused, though the record is still
    # there: the rule does not depend on when the TTL actually runs
    clock.now = bound + 60
    capsys.readouterr()
    after = post(client, "square", body, headers)
    assert (after.status_code, json.loads(after.body)["error"]) == (400, "event_too_old")
    assert [line["alert"] for line in alerts(capsys.readouterr().out)] == ["event_too_old"]
    [record] = webhook_items(stack)
    assert record["pk"]["S"] == first["webhookId"]


def test_the_bound_follows_the_retention_the_store_uses(stack: Any) -> None:
    # GIVEN records kept 30 days (RETENTION_DAYS=30)
    context = runtime.services().ingest
    context = type(context)(**{**context.__dict__, "retention_days": 30})
    now = float(int(time.time()))

    def receive_square(created_at: float) -> Any:
        body, headers = square_at(created_at)
        return receive(Delivery("square", body, {k.lower(): v for k, v in headers.items()}), context, now=now)

    # WHEN a signed event 28 days old arrives THEN it is stored
    assert receive_square(now - 28 * DAY).duplicate is False
    # WHEN one 29 days and a minute old arrives THEN it is refused, nothing more stored
    with pytest.raises(WebhookError) as refused:
        receive_square(now - 29 * DAY - 60)
    assert (refused.value.status, refused.value.code) == (400, "event_too_old")
    assert len(webhook_items(stack)) == 1 and dedupe_markers(stack) == []


def test_a_gocardless_delivery_with_one_event_too_old_stores_none_of_it(
    client: Any, stack: Any, clock: Clock
) -> None:
    # GIVEN a GoCardless delivery (the whole body signed) carrying a fresh event and a stale one
    event = delivery_of(built("gocardless", clock.now), built("gocardless", clock.now - RETENTION_DAYS * DAY))
    delivery = sign(event, material("gocardless", None), now=clock.now)

    # WHEN it arrives THEN the whole delivery is refused before anything is written
    response = deliver(client, "gocardless", delivery)
    assert (response.status_code, json.loads(response.body)["error"]) == (400, "event_too_old")
    assert stack.items() == [] and stack.drain() == []
