"""Issue #16: a payment record over one write unit stores ``state`` and ``history`` as one
dictionary-compressed ``document``; the one reader gives the same record back, plain or packed."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.calls import dynamodb_item_bytes
from chalicelib.payments.record import DOCUMENT_DICTIONARY, PaymentRecord, packed_document
from chalicelib.payments.store import PaymentStore
from chalicelib.webhooks.encoding import WRITE_UNIT_BYTES
from tests.unit.payments.events import payment, refund

KEY = "stripe:pi_1"
TOP_LEVEL = ("pk", "itemType", "paymentKey", "source", "provider", "providerPaymentId", "status", "refundedAmount",
             "version", "createdAt", "updatedAt", "amount", "currency")


def _record(refunds: int) -> PaymentRecord:
    record = PaymentRecord.new(KEY, "stripe")
    events = [payment("paid", "succeeded", 1, amount=50_000)]
    events += [refund(f"r{n}", "refund_succeeded", 10 + n, f"re_{n}", 100) for n in range(refunds)]
    for second, event in enumerate(events):
        applied = record.apply(event, f"2024-02-15T13:00:{second:02d}.000000Z")
        assert applied is not None
        record = applied
    return record


def _same(a: PaymentRecord, b: PaymentRecord) -> None:
    assert a.state.to_json() == b.state.to_json() and a.history == b.history
    assert (a.key, a.provider, a.version, a.created_at, a.updated_at, a.legacy) == (
        b.key, b.provider, b.version, b.created_at, b.updated_at, b.legacy)


def test_a_small_record_stays_plain() -> None:
    record = _record(0)
    item = record.to_item()
    assert "document" not in item and json.loads(item["state"]["S"]) == record.state.to_json()
    assert dynamodb_item_bytes(item) <= WRITE_UNIT_BYTES
    _same(PaymentRecord.from_item(item), record)


@pytest.mark.parametrize("refunds", [2, 5, 19])
def test_a_record_over_one_unit_is_packed_and_reads_back_the_same(refunds: int) -> None:
    record = _record(refunds)
    item = record.to_item()
    plain = {**{k: v for k, v in item.items() if k not in ("document", "documentEncoding")},
             "state": {"S": json.dumps(record.state.to_json())}, "history": {"S": json.dumps(list(record.history))}}
    assert dynamodb_item_bytes(plain) > WRITE_UNIT_BYTES  # the case this is about
    assert item["documentEncoding"] == {"S": f"zlib-dict:{DOCUMENT_DICTIONARY}"}
    assert "state" not in item and "history" not in item
    if refunds <= 5:
        assert dynamodb_item_bytes(item) <= WRITE_UNIT_BYTES
    # What queries, people and the audit stream read stays plain at the top level.
    assert set(TOP_LEVEL) <= set(item) and item["status"] == {"S": record.status}
    _same(PaymentRecord.from_item(item), record)


def test_records_written_before_packing_stay_readable() -> None:
    record = _record(5)
    legacy = {k: v for k, v in record.to_item().items() if k not in ("document", "documentEncoding")}
    legacy["state"] = {"S": json.dumps(record.state.to_json(), separators=(",", ":"), sort_keys=True)}
    legacy["history"] = {"S": json.dumps(list(record.history), separators=(",", ":"), sort_keys=True)}
    _same(PaymentRecord.from_item(legacy), record)


def test_an_unknown_or_damaged_document_is_an_error_not_an_empty_payment() -> None:
    item = _record(5).to_item()
    with pytest.raises(ValueError, match="documentEncoding"):
        PaymentRecord.from_item({**item, "documentEncoding": {"S": "brotli"}})
    with pytest.raises(ValueError, match="payments-9"):
        PaymentRecord.from_item({**item, "documentEncoding": {"S": "zlib-dict:payments-9"}})
    with pytest.raises(zlib.error):
        PaymentRecord.from_item({**item, "document": {"B": item["document"]["B"][:-3]}})


def test_the_packed_document_is_the_records_state_and_history() -> None:
    record = _record(3)
    assert json.loads(packed_document(record)) == {"history": list(record.history), "state": record.state.to_json()}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield client


def test_the_store_folds_into_a_packed_record_across_containers(dynamodb: Any) -> None:
    # Two containers (two stores, two caches) take turns: each write is conditioned on the version
    # read back from the packed item, and nothing is lost or applied twice.
    first, second = PaymentStore(dynamodb, "t"), PaymentStore(dynamodb, "t")
    events = [payment("paid", "succeeded", 1, amount=50_000)]
    events += [refund(f"r{n}", "refund_succeeded", 10 + n, f"re_{n}", 100) for n in range(8)]
    for index, event in enumerate(events):
        (first if index % 2 else second).apply(event, 1_700_000_000 + index)
    second.apply(events[3], 1_700_000_100)  # a replay: already part of the record
    stored = dynamodb.get_item(TableName="t", Key={"pk": {"S": f"payment#{KEY}"}})["Item"]
    assert "document" in stored and "state" not in stored
    found = first.record(KEY)
    assert found is not None and found.version == len(events)
    assert found.state.refunded_amount == 800 and len(found.history) == len(events)
    view = first.get(KEY)
    assert view is not None and view["refundedAmount"] == 800 and view["appliedEvents"] == len(events)
