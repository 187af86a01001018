"""The processor's final update (``WebhookStore.finish``) against moto's DynamoDB: it marks the record
final and counts the attempt, and when it finished is the attempt history's last entry; no
``finishedAt`` is written any more (issue #16: those 37 bytes took PayPal's records over one
write unit at this update), and an older record that has one still reads and reopens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus, attempt_entry, received_item
from chalicelib.webhooks.store import WebhookStore

TABLE = "webhooks"
WEBHOOK_ID = "wh_" + "d" * 32


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield client


def _stored(dynamodb: Any, **extra: Any) -> WebhookStore:
    item = received_item(WEBHOOK_ID, "stripe", "stripe", "evt_1", "charge.succeeded", '{"id":"evt_1"}',
                         "2026-12-01T11:00:00.000000Z", 1_790_000_000)
    dynamodb.put_item(TableName=TABLE, Item={**item, **extra})
    return WebhookStore(dynamodb, TABLE)


def _item(dynamodb: Any) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": WEBHOOK_ID}})["Item"]
    return item


def test_the_final_update_writes_the_attempt_history_and_no_finished_at(dynamodb: Any) -> None:
    store = _stored(dynamodb)
    record = store.get(WEBHOOK_ID)
    assert record is not None
    history = record.with_attempt(attempt_entry(1_790_000_001.25, WebhookStatus.PROCESSED))
    assert store.finish(WEBHOOK_ID, WebhookStatus.PROCESSED, now=1_790_000_001.25, attempt_log=history)
    item = _item(dynamodb)
    assert "finishedAt" not in item and item["status"] == {"S": "processed"} and item["attempts"] == {"N": "1"}
    finished = WebhookRecord.from_item(item)
    assert finished.attempt_log == ({"at": iso_timestamp(1_790_000_001.25), "outcome": "processed"},)
    # A second finish (another delivery of the same message) changes nothing.
    assert not store.finish(WEBHOOK_ID, WebhookStatus.FAILED, now=1_790_000_002, reason="x", attempt_log=history)
    assert _item(dynamodb) == item


def test_without_a_history_the_finish_appends_its_own_entry(dynamodb: Any) -> None:
    store = _stored(dynamodb)
    assert store.finish(WEBHOOK_ID, WebhookStatus.FAILED, now=1_790_000_003, reason="unsupported currency")
    item = _item(dynamodb)
    assert "finishedAt" not in item and item["lastError"] == {"S": "unsupported currency"}
    assert WebhookRecord.from_item(item).attempt_log == (
        {"at": iso_timestamp(1_790_000_003), "outcome": "failed", "error": "unsupported currency"},)


def test_an_older_record_with_finished_at_still_reads_and_reopens(dynamodb: Any) -> None:
    store = _stored(dynamodb, status={"S": "processed"}, finishedAt={"S": "2026-12-01T11:00:01.000000Z"})
    record = store.get(WEBHOOK_ID)
    assert record is not None and record.status == "processed"
    assert store.reopen(WEBHOOK_ID, now=1_790_000_004)
    item = _item(dynamodb)
    assert item["status"] == {"S": "received"} and "finishedAt" not in item
