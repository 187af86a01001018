"""Publish PaymentEvents to the payment-events SNS topic, at least once, in batches.

The message body is the event's schema-v1 JSON with sorted keys: the same event always yields
the same bytes, so a re-publication after a retry or a replay is an exact duplicate, and
consumers dedupe on ``eventId``. Message attributes ``source``, ``provider``, ``kind``,
``status`` and ``schemaVersion`` let subscribers filter without parsing the body.

``PublishBatch`` sends up to ten events per call (a whole SQS batch of the processor). Its
answer is per entry, so one failed entry fails only its own webhook, which stays ``received``
and is retried. On a FIFO topic (an ARN ending in ``.fifo``) each payment is its own message
group, so one payment's events are delivered in publication order, and the event id doubles as
the deduplication id. The group is the source-scoped payment key: two sources' payments that share
an id are two payments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.errors import ProcessingError
from chalicelib.payments.model import SCHEMA_VERSION, PaymentEvent

SNS_BATCH_LIMIT = 10


def message_body(event: PaymentEvent) -> str:
    return json.dumps(event.to_json(), separators=(",", ":"), sort_keys=True)


def message_attributes(event: PaymentEvent) -> dict[str, dict[str, str]]:
    values = {
        "source": event.source,
        "provider": event.provider,
        "kind": event.kind,
        "status": event.status,
        "schemaVersion": SCHEMA_VERSION,
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


class PaymentEventPublisher:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    @property
    def is_fifo(self) -> bool:
        return self._topic_arn.endswith(".fifo")

    def publish(self, events: Sequence[PaymentEvent]) -> set[str]:
        """Publish every event; return the ids of those SNS did not accept.

        An error of a whole call (throttling, a network fault) propagates: none of that call's
        events can be assumed published.
        """
        if not events:
            return set()
        if not self._topic_arn:
            raise ProcessingError("the payment-events topic is not configured")
        failed: set[str] = set()
        for start in range(0, len(events), SNS_BATCH_LIMIT):
            chunk = events[start : start + SNS_BATCH_LIMIT]
            entries = [self._entry(str(i), event) for i, event in enumerate(chunk)]
            response = self._sns.publish_batch(
                TopicArn=self._topic_arn, PublishBatchRequestEntries=entries
            )
            for failure in response.get("Failed") or []:
                index = failure.get("Id")
                if isinstance(index, str) and index.isdigit() and int(index) < len(chunk):
                    failed.add(chunk[int(index)].event_id)
            succeeded = {entry.get("Id") for entry in response.get("Successful") or []}
            for i, event in enumerate(chunk):  # neither successful nor failed: not confirmed
                if str(i) not in succeeded:
                    failed.add(event.event_id)
        return failed

    def _entry(self, entry_id: str, event: PaymentEvent) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": entry_id,
            "Message": message_body(event),
            "MessageAttributes": message_attributes(event),
        }
        if self.is_fifo:
            entry["MessageGroupId"] = event.payment_key
            entry["MessageDeduplicationId"] = event.event_id
        return entry
