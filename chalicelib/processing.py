"""Step 5-8 of the flow: process queued webhooks, at most once in effect, whatever SQS redelivers.

A message only names a webhookId. Counting the attempt and loading the record is one conditional
update that succeeds only while the record is ``received``, so a redelivery, a sweeper re-enqueue
or a duplicate message finds it final and does nothing. On the queue's last receive a failing
webhook is marked ``failed`` (which alerts, through the audit stream) just before SQS moves the
message to the dead-letter queue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import log
from chalicelib.batch import partial_batch, sqs_message_id
from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from chalicelib.store import FAILED, IGNORED, PROCESSED, WebhookRecord, WebhookStore

UNEXPECTED_FAILURE = "processing failed on an internal error; see the processor's logs"


@dataclass(frozen=True)
class ProcessingContext:
    store: WebhookStore
    max_receives: int


def webhook_id_from_message(body: Any) -> str:
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise ProcessingError("the queue message is not JSON") from None
    webhook_id = message.get("webhookId") if isinstance(message, dict) else None
    if not isinstance(webhook_id, str) or not webhook_id:
        raise ProcessingError("the queue message has no webhookId")
    return webhook_id


def receive_count(message: Mapping[str, Any]) -> int:
    attributes = message.get("attributes") or {}
    try:
        return int(attributes.get("ApproximateReceiveCount", "1"))
    except (TypeError, ValueError):
        return 1


def outcome_for(webhook: WebhookRecord) -> str:
    """The final status of a verified webhook (the payment state machine plugs in here)."""
    provider = get_provider(webhook.provider)
    return PROCESSED if provider.is_payment_event(webhook.event_type) else IGNORED


def process_message(message: Mapping[str, Any], context: ProcessingContext) -> None:
    webhook_id = webhook_id_from_message(message.get("body"))
    webhook = context.store.begin_attempt(webhook_id)
    if webhook is None:
        log.info("webhook already final or gone; nothing to do", webhookId=webhook_id)
        return
    try:
        status = outcome_for(webhook)
        context.store.finish(webhook_id, status, now=time.time())
    except Exception as exc:
        reason = exc.reason if isinstance(exc, ProcessingError) else UNEXPECTED_FAILURE
        last_receive = receive_count(message) >= context.max_receives
        log.error(
            "webhook processing failed",
            webhookId=webhook_id,
            source=webhook.source,
            attempt=webhook.attempts,
            deadLettering=last_receive,
            errorType=log.error_type(exc),
        )
        if last_receive:
            context.store.finish(webhook_id, FAILED, now=time.time(), reason=reason)
        raise
    log.info(
        "webhook processed",
        webhookId=webhook_id,
        source=webhook.source,
        eventType=webhook.event_type,
        outcome=status,
        attempt=webhook.attempts,
    )


def process_batch(event: Mapping[str, Any], context: ProcessingContext) -> dict[str, Any]:
    """Handle an SQS batch; only the failed messages are reported back for retry."""
    return partial_batch(
        event.get("Records") or [],
        lambda message: process_message(message, context),
        sqs_message_id,
    )
