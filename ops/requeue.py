"""``ops requeue``: send to the queue the webhooks the outbox gave up on.

The table stream queues every new webhook (chalicelib/outbox.py). When its mapping gives up on a
batch (retries or record age exhausted, for example a long SQS or KMS outage), Lambda writes the
batch's *shard and sequence range* to the enqueue-failure queue (never the records themselves),
and an alarm fires. Two ways back:

- ``--from-failures``: read each failure message's range from the stream (it keeps records 24 h,
  and the mapping gives up well inside that), and send the webhooks INSERTed there that are still
  ``received``; the message is deleted once they are sent. Cheap: it reads only those records.
- ``--scan --older-than 15m``: the last resort, when the stream's 24 h have passed: a filtered
  Scan for records still ``received`` older than that. A Scan reads (and bills) the whole table,
  whatever the filter: run it rarely, off-peak.

Either way a record sent twice is harmless: processing is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.outbox import OddRecord, new_webhook
from chalicelib.queue import ProcessingQueue
from chalicelib.webhooks.record import WebhookStatus
from chalicelib.webhooks.store import WebhookStore


@dataclass
class RequeueResult:
    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Webhooks of the range no longer ``received`` (processed meanwhile, e.g. by a provider's retry)."""
    ranges: int = 0
    expired_ranges: int = 0
    """Failure messages whose records the stream no longer holds: use ``--scan``."""

    def to_json(self) -> dict[str, Any]:
        return {"queued": len(self.queued), "webhookIds": self.queued, "skipped": len(self.skipped),
                "ranges": self.ranges, "expiredRanges": self.expired_ranges}


@dataclass(frozen=True)
class StreamRange:
    """What Lambda's on-failure record of a DynamoDB stream batch says: ``DDBStreamBatchInfo``."""

    stream_arn: str
    shard_id: str
    start: str
    end: str

    @classmethod
    def from_message(cls, body: str) -> StreamRange | None:
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            return cls(str(info["streamArn"]), str(info["shardId"]), str(info["startSequenceNumber"]),
                       str(info["endSequenceNumber"]))
        except (ValueError, KeyError, TypeError):
            return None


def records_in(streams: Any, stream_range: StreamRange) -> list[dict[str, Any]]:
    """The stream records from ``start`` to ``end`` (inclusive) of one shard."""
    iterator = streams.get_shard_iterator(
        StreamArn=stream_range.stream_arn, ShardId=stream_range.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=stream_range.start,
    )["ShardIterator"]
    end = int(stream_range.end)
    found: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page.get("Records", []):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return found
            found.append(record)
        if not page.get("Records"):
            return found
        iterator = page.get("NextShardIterator")
    return found


def still_received(store: WebhookStore, webhook_ids: Iterable[str], result: RequeueResult) -> list[str]:
    sending = []
    for webhook_id in dict.fromkeys(webhook_ids):
        record = store.get(webhook_id)
        if record is not None and record.status == WebhookStatus.RECEIVED:
            sending.append(webhook_id)
        else:
            result.skipped.append(webhook_id)
    return sending


def new_webhooks(records: Iterable[Mapping[str, Any]]) -> list[str]:
    ids = []
    for record in records:
        try:
            webhook_id = new_webhook(record)
        except OddRecord:
            continue
        if webhook_id is not None:
            ids.append(webhook_id)
    return ids


def from_failures(
    sqs: Any, streams: Any, store: WebhookStore, queue: ProcessingQueue, failure_queue_url: str,
    dry_run: bool = False, limit: int | None = None,
) -> RequeueResult:
    """Work through the enqueue-failure queue (see the module doc)."""
    result = RequeueResult()
    while limit is None or result.ranges < limit:
        messages = sqs.receive_message(QueueUrl=failure_queue_url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=60).get("Messages", [])
        if not messages:
            break
        for message in messages:
            stream_range = StreamRange.from_message(message["Body"])
            if stream_range is None:
                continue  # not Lambda's failure record: left for a human, never deleted
            result.ranges += 1
            try:
                records = records_in(streams, stream_range)
            except Exception as exc:
                if "TrimmedDataAccess" not in type(exc).__name__ + str(getattr(exc, "response", "")):
                    raise
                result.expired_ranges += 1
                continue
            sending = still_received(store, new_webhooks(records), result)
            if not dry_run:
                queue.send(sending)
                sqs.delete_message(QueueUrl=failure_queue_url, ReceiptHandle=message["ReceiptHandle"])
            result.queued.extend(sending)
        if dry_run:
            break  # what it received stays invisible for a minute, then returns: read once
    return result


def by_scan(store: WebhookStore, queue: ProcessingQueue, before: str, dry_run: bool = False) -> RequeueResult:
    """Send every record still ``received`` that arrived before ``before`` (a ``receivedAt``
    value). A Scan: costly (module doc)."""
    result = RequeueResult()
    ids = [record.webhook_id for record in store.scan_records(status=WebhookStatus.RECEIVED, received_before=before)]
    if not dry_run:
        queue.send(ids)
    result.queued.extend(ids)
    return result
