"""The processing queue: messages are just ``{"webhookId": ...}``; the record holds the rest.

Keeping the payload out of the message means a message can be sent again at any time (a
duplicate delivery, the outbox, ops requeue, a replay) without any risk of processing a different body.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from chalicelib.encoding import compact_json

SQS_BATCH_LIMIT = 10


def message_body(webhook_id: str) -> str:
    """``{"webhookId":"wh_..."}``."""
    return compact_json({"webhookId": webhook_id})


class ProcessingQueue:
    def __init__(self, sqs: Any, queue_name: str, queue_url: str | None = None) -> None:
        self._sqs = sqs
        self._name = queue_name
        self._url = queue_url
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        # Looked up once per container when the stage does not set PROCESSING_QUEUE_URL.
        if self._url is None:
            with self._lock:
                if self._url is None:
                    self._url = self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url

    def send(self, webhook_ids: Sequence[str]) -> None:
        """Queue every id; raises if any one could not be queued (the caller answers 503)."""
        if len(webhook_ids) == 1:  # nearly every delivery carries one event
            self._sqs.send_message(QueueUrl=self.url, MessageBody=message_body(webhook_ids[0]))
            return
        for start in range(0, len(webhook_ids), SQS_BATCH_LIMIT):
            chunk = webhook_ids[start : start + SQS_BATCH_LIMIT]
            if len(chunk) == 1:
                self._sqs.send_message(QueueUrl=self.url, MessageBody=message_body(chunk[0]))
                continue
            response = self._sqs.send_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "MessageBody": message_body(webhook_id)}
                    for i, webhook_id in enumerate(chunk)
                ],
            )
            if response.get("Failed"):
                raise QueueSendFailed(len(response["Failed"]))


class QueueSendFailed(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(f"{count} message(s) not queued")
