"""Inspect, wait for, replay and redrive webhook records: the store operations behind the ops commands.

Replay and redrive only ever *queue* work; processing decides what happens, and it is idempotent:
a record is worked on only while it is ``received`` (one conditional update counts the attempt),
so a record queued twice, or queued while a message for it is still in flight, is processed once.
Replaying a final record therefore reopens it first (``WebhookStore.reopen``); redrive reopens only
``failed`` records, since a dead-lettered message whose record has meanwhile been processed (by a
replay, say) must stay done.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.queue import ProcessingQueue
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import FINAL_STATUSES, WebhookRecord, WebhookStatus
from chalicelib.webhooks.store import WebhookStore
from ops.stage import OpsError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DLQ_PEEK_SECONDS = 30
WAIT_SECONDS = 15.0
"""How long ``send`` and ``lifecycle`` wait for processing to finish, by default."""
POLL_SECONDS = 0.2
Progress = Callable[[int], None]


def parse_time(text: str, now: float | None = None) -> str:
    """``15m``/``2h``/``7d`` ago, or an ISO 8601 date or time (UTC unless it says otherwise)."""
    value = text.strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        seconds = int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
        return iso_timestamp((now if now is not None else time.time()) - seconds)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OpsError(f"cannot read the time {text!r}: "
                       "use e.g. 30m, 2h, 7d, 2024-05-01 or 2024-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_timestamp(moment.timestamp())


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    status: str | None = None
    since: str | None = None
    until: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.source or self.status or self.since or self.until)


def find(store: WebhookStore, filters: Filters, limit: int | None = None) -> list[WebhookRecord]:
    """Matching records, newest first (the whole table is scanned; see ``WebhookStore.scan_records``)."""
    records = list(
        store.scan_records(
            source=filters.source, status=filters.status, received_from=filters.since, received_before=filters.until
        )
    )
    records.sort(key=lambda record: (record.received_at, record.webhook_id), reverse=True)
    return records if limit is None else records[:limit]


def wait_until_final(
    store: WebhookStore, webhook_ids: list[str], timeout: float = WAIT_SECONDS, poll_seconds: float = POLL_SECONDS
) -> list[WebhookRecord | None]:
    """Each record once every one is final (processed, ignored, failed), or as it is at ``timeout``.

    A record not found (None) counts as not final: it may not be readable yet.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = [store.get(webhook_id) for webhook_id in webhook_ids]
        if all(record is not None and record.is_final for record in found) or time.monotonic() > deadline:
            return found
        time.sleep(poll_seconds)


@dataclass
class ReplayResult:
    queued: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"queued": len(self.queued), "reopened": len(self.reopened), "missing": self.missing,
                "webhookIds": self.queued}


def replay(
    store: WebhookStore,
    queue: ProcessingQueue,
    records: Iterable[WebhookRecord],
    progress: Progress = lambda _: None,
) -> ReplayResult:
    """Queue each record for processing again, reopening final ones first."""
    result = ReplayResult()
    for record in records:
        if record.status in FINAL_STATUSES:
            if not store.reopen(record.webhook_id):
                result.missing.append(record.webhook_id)
                progress(1)
                continue
            result.reopened.append(record.webhook_id)
        queue.send([record.webhook_id])
        result.queued.append(record.webhook_id)
        progress(1)
    return result


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    webhook_id: str | None
    status: str | None
    """The record's status now (None when the message names no record, or it is gone)."""

    def to_json(self) -> dict[str, Any]:
        return {"messageId": self.message_id, "webhookId": self.webhook_id, "status": self.status}


def webhook_id_of(body: str) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    webhook_id = message.get("webhookId") if isinstance(message, dict) else None
    return webhook_id if isinstance(webhook_id, str) and webhook_id else None


def dead_letter_count(sqs: Any, dlq_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"].get("ApproximateNumberOfMessages", "0"))


def _receive(sqs: Any, dlq_url: str, limit: int | None, seen: set[str]) -> Iterable[dict[str, Any]]:
    """Each message of the DLQ once (held invisible while we work on it)."""
    while limit is None or len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=DLQ_PEEK_SECONDS,
            WaitTimeSeconds=0, AttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            if limit is not None and len(seen) >= limit:
                sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
                continue
            seen.add(message["MessageId"])
            yield message


def redrive(
    sqs: Any,
    store: WebhookStore,
    dlq_url: str,
    queue_url: str,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Progress = lambda _: None,
) -> list[DeadLetter]:
    """Move dead-lettered messages back to the processing queue (or, dry, only list them).

    Each message is sent to the processing queue before it is deleted from the DLQ, so a failure
    in between leaves a duplicate message (harmless) rather than a lost one.
    """
    letters: list[DeadLetter] = []
    held: list[str] = []
    for message in _receive(sqs, dlq_url, limit, set()):
        webhook_id = webhook_id_of(message["Body"])
        record = store.get(webhook_id) if webhook_id else None
        letter = DeadLetter(message["MessageId"], message["ReceiptHandle"], message["Body"], webhook_id,
                            record.status if record else None)
        if dry_run:
            held.append(message["ReceiptHandle"])
        else:
            if record is not None and record.status == WebhookStatus.FAILED:
                store.reopen(record.webhook_id)
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
        letters.append(letter)
        progress(1)
    for receipt in held:  # a dry run leaves every message where it was, visible again
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return letters
