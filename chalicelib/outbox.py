"""Step 4 of the flow: the table's stream is the outbox that puts every new webhook on the queue.

The receiver stores a new record and answers; it does not send the message. This function follows
the table's stream and sends the webhook id of every record *inserted* as ``received`` to the
processing queue (a transactional outbox over DynamoDB Streams). A record is in the stream the
moment its put succeeds, so "stored and answered 2xx, but never queued" cannot happen: there is
no window between the write and the send in which the receiver could fail or die. This replaces
the sparse sweep index (two index writes per webhook) and the scheduled sweeper that existed only
to find such records.

Everything else in the stream (updates, removals, markers, payments) is ignored here: in AWS the
mapping's filter criteria keep it from invoking this function at all, the local stack has no
filters, and this check is the one that counts. Sends are batched (ten ids per call). A send that
fails reports the first record of its batch and stops: the stream retries from that record, so
nothing after it is skipped, and the ids of that batch sent before the failure are sent again,
which is harmless (processing is idempotent). A record given up on after the mapping's retries
goes to the enqueue-failure queue, which is alarmed; ``ops requeue`` recovers it from the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.batch import partial_batch
from chalicelib.queue import SQS_BATCH_LIMIT, ProcessingQueue
from chalicelib.webhooks.record import ITEM_TYPE, WEBHOOK_ID_PREFIX, WebhookStatus

INSERT = "INSERT"


class OddRecord(Exception):
    """A webhook INSERT without a usable webhook id: reported, so the stream isolates it."""


@dataclass(frozen=True)
class OutboxContext:
    queue: ProcessingQueue


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    text = value.get("S") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else None


def new_webhook(record: Mapping[str, Any]) -> str | None:
    """The webhook id to queue for one stream record: an INSERT of a webhook item ``received``;
    None for anything else. Raises :class:`OddRecord` for such an INSERT with no webhook id."""
    if record.get("eventName") != INSERT:
        return None
    change = record.get("dynamodb")
    image = change.get("NewImage") if isinstance(change, Mapping) else None
    if not isinstance(image, Mapping):
        return None
    if _text(image, "itemType") != ITEM_TYPE or _text(image, "status") != WebhookStatus.RECEIVED:
        return None
    webhook_id = _text(image, "pk")
    if not webhook_id or not webhook_id.startswith(WEBHOOK_ID_PREFIX):
        raise OddRecord("a webhook INSERT without a webhook id")
    return webhook_id


def _sequence_number(record: Any) -> str:
    change = record.get("dynamodb") if isinstance(record, Mapping) else None
    return str(change.get("SequenceNumber", "")) if isinstance(change, Mapping) else ""


@dataclass(frozen=True)
class _Send:
    """Consecutive records sent in one call, named by the first one's sequence number (where the
    stream must retry from if the call fails); ``error`` is a record that cannot be sent."""

    sequence_number: str
    webhook_ids: tuple[str, ...] = ()
    error: Exception | None = None


def _sends(records: Iterable[Any]) -> list[_Send]:
    sends: list[_Send] = []
    first = ""
    pending: list[str] = []
    for record in records:
        try:
            if not isinstance(record, Mapping):
                raise OddRecord("record is not an object")
            webhook_id = new_webhook(record)
        except OddRecord as exc:
            if pending:
                sends.append(_Send(first, tuple(pending)))
                pending = []
            sends.append(_Send(_sequence_number(record), error=exc))
            continue
        if webhook_id is None:
            continue
        if not pending:
            first = _sequence_number(record)
        pending.append(webhook_id)
        if len(pending) == SQS_BATCH_LIMIT:
            sends.append(_Send(first, tuple(pending)))
            pending = []
    if pending:
        sends.append(_Send(first, tuple(pending)))
    return sends


def enqueue_batch(event: Mapping[str, Any], context: OutboxContext) -> dict[str, Any]:
    """Send the new webhooks of one stream batch; the batch item failures from the first failed
    send on (chalicelib/batch.py)."""
    sends = _sends(event.get("Records") or [])

    def handle(item: Mapping[str, Any]) -> None:
        send = sends[item["index"]]
        if send.error is not None:
            raise send.error
        context.queue.send(send.webhook_ids)

    return partial_batch(
        [{"index": index, "sequenceNumber": send.sequence_number} for index, send in enumerate(sends)],
        handle,
        lambda item: str(item.get("sequenceNumber", "")),
        stop_at_first_failure=True,
    )
