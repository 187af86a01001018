"""The processor's batched reads: records and payments in one call, throttling handled."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.payments.store import PaymentStore
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from chalicelib.webhooks.store import WebhookStore


def record_item(webhook_id: str) -> dict[str, Any]:
    return WebhookRecord(
        webhook_id=webhook_id, source="stripe", provider="stripe", event_id=f"evt_{webhook_id}", event_type="x",
        payload="{}", received_at="2024-01-01T00:00:00.000Z", status=WebhookStatus.RECEIVED, expires_at=1,
    ).to_item()


class FakeDynamoDB:
    """Answers BatchGetItem from ``items``; the first ``throttled`` answers leave keys unprocessed."""

    def __init__(self, items: dict[str, dict[str, Any]], throttled: int = 0, fail: bool = False) -> None:
        self.items = items
        self.throttled = throttled
        self.fail = fail
        self.requests: list[list[str]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        (table, request), = RequestItems.items()
        assert request["ConsistentRead"] is True
        keys = [key["pk"]["S"] for key in request["Keys"]]
        self.requests.append(keys)
        if self.fail:
            raise RuntimeError("unavailable")
        if self.throttled:
            self.throttled -= 1
            return {"Responses": {table: []}, "UnprocessedKeys": {table: {"Keys": request["Keys"]}}}
        return {"Responses": {table: [self.items[key] for key in keys if key in self.items]}}


def test_records_are_read_in_one_call_and_missing_ones_are_just_absent() -> None:
    db = FakeDynamoDB({"wh_1": record_item("wh_1"), "wh_2": record_item("wh_2")})
    loaded = WebhookStore(db, "t").load(["wh_1", "wh_2", "wh_gone", "wh_1"])
    assert set(loaded.found) == {"wh_1", "wh_2"} and not loaded.unavailable
    assert db.requests == [["wh_1", "wh_2", "wh_gone"]]


def test_unprocessed_keys_are_asked_for_again_then_reported_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chalicelib.webhooks.store.BATCH_GET_BACKOFF_SECONDS", 0)
    once = FakeDynamoDB({"wh_1": record_item("wh_1")}, throttled=1)
    assert set(WebhookStore(once, "t").load(["wh_1"]).found) == {"wh_1"} and len(once.requests) == 2

    always = FakeDynamoDB({"wh_1": record_item("wh_1")}, throttled=99)
    loaded = WebhookStore(always, "t").load(["wh_1"])
    assert not loaded.found and loaded.unavailable == {"wh_1"}  # not "gone": the message is retried


def test_more_than_a_hundred_records_take_one_call_per_hundred() -> None:
    ids = [f"wh_{n}" for n in range(150)]
    db = FakeDynamoDB({webhook_id: record_item(webhook_id) for webhook_id in ids})
    assert len(WebhookStore(db, "t").load(ids).found) == 150
    assert [len(keys) for keys in db.requests] == [100, 50]


def test_payments_are_prefetched_once_and_a_failed_prefetch_changes_nothing() -> None:
    item = {"pk": {"S": "payment#stripe:pi_1"}, "itemType": {"S": "payment"}}
    db = FakeDynamoDB({"payment#stripe:pi_1": item})
    store = PaymentStore(db, "t")
    store.prefetch(["stripe:pi_1", "stripe:pi_new", "stripe:pi_1"])
    store.prefetch(["stripe:pi_1"])  # cached now: no second call for it
    assert db.requests == [["payment#stripe:pi_1", "payment#stripe:pi_new"]]
    assert store._cached("stripe:pi_1") == item  # noqa: SLF001

    PaymentStore(FakeDynamoDB({}, fail=True), "t").prefetch(["stripe:pi_1"])  # logged, not raised
