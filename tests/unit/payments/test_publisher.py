"""The payment-events publisher: batches, attributes for filters, per-entry failures, FIFO."""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from typing import Any

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments.publisher import PaymentEventPublisher
from tests.unit.payments.events import payment, refund

TOPIC = "arn:aws:sns:us-east-1:123456789012:payment-webhooks-local-payment-events"


class FakeSns:
    def __init__(self, fail_ids: AbstractSet[str] = frozenset()) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_ids = fail_ids

    def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        entries = kwargs["PublishBatchRequestEntries"]
        failed = [e for e in entries if json.loads(e["Message"])["eventId"] in self.fail_ids]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in entries if e not in failed],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failed],
        }


def test_events_are_published_in_batches_of_ten_with_filter_attributes() -> None:
    sns = FakeSns()
    events = [payment(f"e{i}", "succeeded", i) for i in range(12)]
    assert PaymentEventPublisher(sns, TOPIC).publish(events) == set()
    assert [len(call["PublishBatchRequestEntries"]) for call in sns.calls] == [10, 2]
    entry = sns.calls[0]["PublishBatchRequestEntries"][0]
    assert json.loads(entry["Message"])["eventId"] == events[0].event_id
    assert {k: v["StringValue"] for k, v in entry["MessageAttributes"].items()} == {
        "source": "stripe", "provider": "stripe", "kind": "payment", "status": "succeeded", "schemaVersion": "2"}
    assert "MessageGroupId" not in entry


def test_only_the_entries_sns_refused_are_reported() -> None:
    events = [payment("ok", "succeeded", 1), refund("bad", "refund_succeeded", 2, "re_1", 5)]
    sns = FakeSns(fail_ids={events[1].event_id})
    assert PaymentEventPublisher(sns, TOPIC).publish(events) == {events[1].event_id}


def test_an_entry_sns_did_not_confirm_counts_as_failed() -> None:
    class Silent(FakeSns):
        def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
            return {"Successful": [], "Failed": []}

    event = payment("x", "succeeded", 1)
    assert PaymentEventPublisher(Silent(), TOPIC).publish([event]) == {event.event_id}


def test_a_fifo_topic_groups_by_payment_and_dedupes_by_event_id() -> None:
    sns = FakeSns()
    event = payment("x", "succeeded", 1)
    PaymentEventPublisher(sns, TOPIC + ".fifo").publish([event])
    entry = sns.calls[0]["PublishBatchRequestEntries"][0]
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("stripe:pi_1", event.event_id)


def test_on_a_fifo_topic_two_sources_payments_with_one_id_are_two_groups() -> None:
    sns = FakeSns()
    PaymentEventPublisher(sns, TOPIC + ".fifo").publish(
        [payment("x", "succeeded", 1), payment("y", "succeeded", 1, source="stripe-eu")])
    groups = [entry["MessageGroupId"] for entry in sns.calls[0]["PublishBatchRequestEntries"]]
    assert groups == ["stripe:pi_1", "stripe-eu:pi_1"]


def test_nothing_to_publish_makes_no_call_and_a_missing_topic_is_an_error() -> None:
    sns = FakeSns()
    assert PaymentEventPublisher(sns, "").publish([]) == set() and sns.calls == []
    with pytest.raises(ProcessingError, match="not configured"):
        PaymentEventPublisher(sns, "").publish([payment("x", "succeeded", 1)])
