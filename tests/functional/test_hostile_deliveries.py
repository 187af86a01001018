"""Hostile senders through the route (issue 12, items 1b, 7, 8, 9): one body per PayPal
transmission, conflicting duplicates, replays after the record expired, events too large to store.

Real behaviour throughout: moto's table, the real PayPal verifier with RSA signatures under a test
CA (only the certificate fetch is served from memory) and a real CRC32 collision, solved the way
an attacker would solve it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.dynamo import is_item_too_large
from chalicelib.errors import WebhookError
from chalicelib.ingest import Delivery, receive
from chalicelib.providers import paypal
from chalicelib.providers.paypal.chain import CertificateStore
from chalicelib.webhooks.encoding import stored_payload
from chalicelib.webhooks.record import DEDUPE_ITEM_TYPE, TRANSMISSION_ITEM_TYPE
from chalicelib.webhooks.store import WebhookStore
from tests import samples
from tests.functional.helpers import fail_aws_call, log_lines, post, process_queue, webhook_items
from tests.unit.providers.paypal_pki import FakeFetcher, make_ca, make_leaf, pem, sign_delivery

PAYPAL_SOURCE = "paypal-hostile"
PAYPAL_WEBHOOK_ID = "8PT597110X687430LKGECATA"
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"


# --- helpers ---------------------------------------------------------------------------------


def items_of_type(stack: Any, item_type: str) -> list[dict[str, Any]]:
    return [item for item in stack.items() if item["itemType"]["S"] == item_type]


def alerts(text: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(text) if "alert" in line]


def set_sources(stack: Any, **entries: Any) -> None:
    secrets = stack.session.client("secretsmanager")
    document = json.loads(secrets.get_secret_value(SecretId=stack.resources.secret_id)["SecretString"])
    document["sources"].update(entries)
    secrets.put_secret_value(SecretId=stack.resources.secret_id, SecretString=json.dumps(document))
    runtime.reset()


def crc32_twin(template: dict[str, Any], target_crc: int) -> bytes:
    """A JSON body from ``template`` whose CRC32 is ``target_crc``: the attacker's forgery.

    CRC32 is affine over GF(2) for messages of one length, so flipping bit 0 of chosen pad
    characters ('a' <-> '`', both plain in a JSON string) changes the CRC by the XOR of each flip's
    own effect. Gaussian elimination picks the flips that turn the CRC into the target.
    """
    pad_length = 64
    document = {**template, "pad": "a" * pad_length}
    base = json.dumps(document, separators=(",", ":")).encode()
    start = base.index(b'"pad":"') + len(b'"pad":"')
    base_crc = zlib.crc32(base)
    columns = []
    for i in range(pad_length):
        flipped = bytearray(base)
        flipped[start + i] ^= 1
        columns.append((zlib.crc32(bytes(flipped)) ^ base_crc, 1 << i))
    # Row-reduce (effect, flips) pairs: one pivot per CRC bit.
    pivots: dict[int, tuple[int, int]] = {}
    for effect, flips in columns:
        for bit in sorted(pivots, reverse=True):
            if effect >> bit & 1:
                effect ^= pivots[bit][0]
                flips ^= pivots[bit][1]
        if effect:
            pivots[effect.bit_length() - 1] = (effect, flips)
    assert len(pivots) == 32, "the pad bits do not span CRC32's 32 bits"
    wanted, chosen = base_crc ^ target_crc, 0
    for bit in sorted(pivots, reverse=True):
        if wanted >> bit & 1:
            wanted ^= pivots[bit][0]
            chosen ^= pivots[bit][1]
    assert wanted == 0
    forged = bytearray(base)
    for i in range(pad_length):
        if chosen >> i & 1:
            forged[start + i] ^= 1
    result = bytes(forged)
    assert zlib.crc32(result) == target_crc
    return result


def paypal_event(event_id: str, value: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": "2026-06-01T12:00:00.000Z",
        "resource_type": "capture",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "summary": f"Payment completed for $ {value} USD",
        "resource": {"id": "42311647XV020574X", "amount": {"currency_code": "USD", "value": value}},
    }


@pytest.fixture
def paypal_source(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A PayPal source trusting a test CA whose leaf the (in-memory) fetcher serves at CERT_URL;
    returns the leaf's signing key."""
    now = dt.datetime.now(dt.UTC)
    root = make_ca("Hostile Tests Root CA", now - dt.timedelta(days=30), now + dt.timedelta(days=3650))
    intermediate = make_ca("Hostile Tests Issuing CA", now - dt.timedelta(days=30), now + dt.timedelta(days=1825), root)
    leaf = make_leaf(intermediate, now - dt.timedelta(days=1), now + dt.timedelta(days=365))
    chain = pem(leaf.certificate, intermediate.certificate).encode()
    monkeypatch.setattr(paypal.PROVIDER, "certificates", CertificateStore(fetcher=FakeFetcher({CERT_URL: chain})))
    entry = {"provider": "paypal", "secrets": [PAYPAL_WEBHOOK_ID], "trustRootsPem": root.pem}
    set_sources(stack, **{PAYPAL_SOURCE: entry})
    return leaf.key


def paypal_headers(key: Any, body: bytes, transmission_id: str) -> dict[str, str]:
    moment = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = sign_delivery(key, body, PAYPAL_WEBHOOK_ID, CERT_URL, transmission_id, moment)
    return {**headers, "Content-Type": "application/json"}


# --- item 1b: one transmission, one body ------------------------------------------------------


def test_a_crc32_twin_under_a_genuine_paypal_transmission_is_refused_alerted_and_not_stored(
    client, stack, paypal_source, capsys
):
    # GIVEN a genuine PayPal delivery, accepted
    genuine = json.dumps(paypal_event("WH-GENUINE-1", "7.47"), separators=(",", ":")).encode()
    headers = paypal_headers(paypal_source, genuine, "b2384410-f8d2-11e7-8a8e-3f2a0a2d5f7e")
    first = post(client, PAYPAL_SOURCE, genuine, headers)
    assert first.status_code == 200, first.body
    [marker] = items_of_type(stack, TRANSMISSION_ITEM_TYPE)
    assert marker["pk"]["S"] == f"tx#paypal#{PAYPAL_SOURCE}#b2384410-f8d2-11e7-8a8e-3f2a0a2d5f7e"
    assert [value["S"] for value in marker["eventIds"]["L"]] == ["WH-GENUINE-1"]
    capsys.readouterr()

    # WHEN an attacker sends another event and amount with the same CRC32 under the genuine headers
    forged = crc32_twin(paypal_event("WH-FORGED-1", "9999.00"), zlib.crc32(genuine))
    response = post(client, PAYPAL_SOURCE, forged, headers)

    # THEN the signature verifies (that is the attack) but the transmission admits one body: 409,
    # alerted, and nothing of the forged event is stored
    assert response.status_code == 409
    assert json.loads(response.body)["error"] == "transmission_conflict"
    [line] = alerts(capsys.readouterr().out)
    assert line["alert"] == "transmission_conflict" and line["level"] == "WARNING"
    assert [item["eventId"]["S"] for item in webhook_items(stack)] == ["WH-GENUINE-1"]
    # (no dedupe marker: the RSA-signed transmission time bounds a PayPal event's replays)
    assert items_of_type(stack, DEDUPE_ITEM_TYPE) == []

    # AND PayPal's own retry of the genuine delivery is still a plain duplicate
    retry = post(client, PAYPAL_SOURCE, genuine, headers)
    assert retry.status_code == 200 and json.loads(retry.body)["status"] == "duplicate"


def test_a_paypal_event_id_seen_before_with_another_body_is_refused_under_a_new_transmission(
    client, stack, paypal_source, capsys
):
    genuine = json.dumps(paypal_event("WH-GENUINE-2", "7.47"), separators=(",", ":")).encode()
    assert post(client, PAYPAL_SOURCE, genuine, paypal_headers(paypal_source, genuine, "tx-one")).status_code == 200
    capsys.readouterr()

    # WHEN the same event id arrives with another body under another transmission id
    other = json.dumps(paypal_event("WH-GENUINE-2", "9999.00"), separators=(",", ":")).encode()
    response = post(client, PAYPAL_SOURCE, other, paypal_headers(paypal_source, other, "tx-two"))

    # THEN it is refused (PayPal's signature does not bind the body), alerted, never stored
    assert response.status_code == 409 and json.loads(response.body)["error"] == "event_conflict"
    assert [line["alert"] for line in alerts(capsys.readouterr().out)] == ["event_conflict"]
    [record] = webhook_items(stack)
    assert stored_payload(record) == genuine.decode()


# --- item 9: conflicting duplicates where the MAC binds the body ------------------------------


def test_a_conflicting_stripe_duplicate_is_answered_duplicate_counted_and_alerted(client, stack, capsys):
    # GIVEN a Stripe event, delivered and processed
    event = samples.stripe_event(event_id="evt_conflict_1")
    body, headers = samples.stripe_delivery(event)
    first = json.loads(post(client, "stripe", body, headers).body)
    process_queue(client, stack)
    capsys.readouterr()

    # WHEN the same event id arrives, validly signed, with another body
    changed = {**event, "data": {"object": {**event["data"]["object"], "amount": 1}}}
    other_body, other_headers = samples.stripe_delivery(changed)
    response = post(client, "stripe", other_body, other_headers)

    # THEN it is answered duplicate with the first delivery's id; the first body stays; the
    # record counts the conflict (what `ops show --json` shows); one WARNING alert line
    assert response.status_code == 200
    assert json.loads(response.body) == {"webhookId": first["webhookId"], "status": "duplicate"}
    [record] = webhook_items(stack)
    assert stored_payload(record) == body.decode() and record["status"]["S"] == "processed"
    shown = WebhookStore(stack.session.client("dynamodb"), stack.resources.table_name).get(first["webhookId"])
    assert shown is not None and shown.to_json()["conflictingDeliveries"] == 1
    [line] = alerts(capsys.readouterr().out)
    assert (line["alert"], line["level"], line["webhookId"]) == ("conflicting_delivery", "WARNING", first["webhookId"])
    assert stack.drain() == []

    # AND the provider's plain retry of the first body is not a conflict
    again = post(client, "stripe", body, headers)
    assert json.loads(again.body)["status"] == "duplicate"
    assert alerts(capsys.readouterr().out) == []


def test_a_stripe_retry_that_only_counts_fewer_pending_webhooks_is_not_a_conflict(client, stack, capsys):
    # GIVEN a Stripe event delivered while two endpoints were still to be served
    event = {**samples.stripe_event(event_id="evt_pending_1"), "pending_webhooks": 2}
    body, headers = samples.stripe_delivery(event)
    first = json.loads(post(client, "stripe", body, headers).body)
    capsys.readouterr()

    # WHEN Stripe retries it after the other endpoint answered (same event, pending_webhooks 1)
    retry_body, retry_headers = samples.stripe_delivery({**event, "pending_webhooks": 1})
    assert retry_body != body
    response = post(client, "stripe", retry_body, retry_headers)

    # THEN it is a plain duplicate: no conflict counted, nothing alerted
    assert json.loads(response.body) == {"webhookId": first["webhookId"], "status": "duplicate"}
    shown = WebhookStore(stack.session.client("dynamodb"), stack.resources.table_name).get(first["webhookId"])
    assert shown is not None and not shown.to_json().get("conflictingDeliveries")
    assert alerts(capsys.readouterr().out) == []


# --- item 8: replays after the record expired -------------------------------------------------
# Every provider, refused or answered by its marker: tests/functional/test_hostile_replays.py.
# Here, what only the marker (Adyen's: its HMAC covers no time) has to get right.


def expire_record(stack: Any, webhook_id: str) -> None:
    """The table as DynamoDB's TTL leaves it 90 days on: the record gone, its marker kept."""
    db = stack.session.client("dynamodb")
    db.delete_item(TableName=stack.resources.table_name, Key={"pk": {"S": webhook_id}})
    db.update_item(
        TableName=stack.resources.table_name, Key={"pk": {"S": f"seen#{webhook_id}"}},
        UpdateExpression="SET recordExpiresAt = :past", ExpressionAttributeValues={":past": {"N": "1"}},
    )


def test_a_conflicting_body_after_the_record_expired_is_alerted_and_not_stored(client, stack, capsys):
    # GIVEN an Adyen item delivered, and its record later expired by the TTL (its marker kept)
    item = samples.adyen_item("8835511210681123")
    body, headers = samples.adyen_delivery(item)
    assert post(client, "adyen", body, headers).status_code == 200
    [record] = webhook_items(stack)
    webhook_id = record["pk"]["S"]
    expire_record(stack, webhook_id)
    stack.drain()
    capsys.readouterr()

    # WHEN the same signed fields arrive with another unsigned one (the same event, another body)
    fields = {**item["NotificationRequestItem"], "eventDate": "2024-03-01T00:00:00+01:00"}
    other_item = {"NotificationRequestItem": fields}
    other, other_headers = samples.adyen_delivery(other_item)
    response = post(client, "adyen", other, other_headers)

    # THEN it is answered like the duplicate it is, alerted, and nothing is stored or queued
    assert response.status_code == 200 and response.headers["X-Webhook-Ids"] == webhook_id
    [line] = alerts(capsys.readouterr().out)
    assert line["alert"] == "conflicting_delivery" and line["recordExpired"] is True
    assert webhook_items(stack) == [] and stack.drain() == []


def test_a_crash_between_the_marker_and_the_record_loses_nothing(client, stack):
    # GIVEN the marker written and the record not (the receiver died between the two writes)
    body, headers = samples.adyen_delivery(samples.adyen_item("8835511210681124"))
    db = runtime.services().aws.dynamodb

    def die_on_the_record(model: Any, params: Any, **_: Any) -> None:
        if model.name == "PutItem" and b'"webhook"' in params.get("body", b""):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "PutItem")

    db.meta.events.register("before-call", die_on_the_record, unique_id="die-on-record")
    try:
        assert post(client, "adyen", body, headers).status_code == 503
    finally:
        db.meta.events.unregister("before-call", unique_id="die-on-record")
    assert len(items_of_type(stack, DEDUPE_ITEM_TYPE)) == 1 and webhook_items(stack) == []

    # WHEN the provider retries
    retry = post(client, "adyen", body, headers)

    # THEN the record is stored and queued: the marker's record was still due
    assert retry.status_code == 200
    [record] = webhook_items(stack)
    assert process_queue(client, stack) == 1


# --- item 7: permanent storage errors ---------------------------------------------------------


def test_moto_refuses_an_item_over_400_kb_with_the_error_the_receiver_treats_as_permanent(stack):
    store = WebhookStore(stack.session.client("dynamodb"), stack.resources.table_name)
    item = {"pk": {"S": "wh_big"}, "itemType": {"S": "webhook"}, "payload": {"S": "x" * 410_000}}
    with pytest.raises(ClientError) as refused:
        store.put_new(item)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert is_item_too_large(refused.value)


def test_an_event_too_large_to_store_is_413_alerted_and_leaves_nothing(stack, capsys):
    # GIVEN an endpoint configured to accept bodies beyond DynamoDB's item size
    context = runtime.services().ingest
    context = type(context)(**{**context.__dict__, "max_body_bytes": 1_000_000})
    event = samples.stripe_event()
    # Random bytes in base64: stored compressed (issue #16) it is still well over 400 KB.
    noise = base64.b64encode(random.Random(16).randbytes(450_000)).decode()
    event["data"]["object"]["metadata"] = {"note": noise}
    body, headers = samples.stripe_delivery(event)

    # WHEN it arrives, validly signed
    with pytest.raises(WebhookError) as refused:
        receive(Delivery("stripe", body, {k.lower(): v for k, v in headers.items()}), context, now=samples.now())

    # THEN a 413 that stops the retries (not a 503 forever), an ERROR alert, nothing written
    assert (refused.value.status, refused.value.code) == (413, "event_too_large")
    [line] = alerts(capsys.readouterr().out)
    assert (line["alert"], line["level"]) == ("event_too_large", "ERROR")
    assert stack.items() == [] and stack.drain() == []


def test_a_permanent_storage_error_is_a_4xx_and_throttling_stays_503(client, stack, capsys):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    invalid = ClientError({"Error": {"Code": "ValidationException", "Message": "One or more parameters"}}, "PutItem")
    with fail_aws_call("dynamodb.PutItem", invalid):
        refused = post(client, "stripe", body, headers)
    assert refused.status_code == 422 and json.loads(refused.body)["error"] == "unstorable_event"
    assert "Retry-After" not in refused.headers
    assert [line["alert"] for line in alerts(capsys.readouterr().out)] == ["unstorable_event"]

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
    with fail_aws_call("dynamodb.PutItem", throttled):
        retry_later = post(client, "stripe", body, headers)
    assert retry_later.status_code == 503 and "Retry-After" in retry_later.headers
    assert alerts(capsys.readouterr().out) == []
    assert post(client, "stripe", body, headers).status_code == 200
