"""Steps 5-8 of the flow: process queued webhooks, at most once in effect, whatever SQS redelivers.

A message only names a webhookId. Counting the attempt and loading the record is one conditional
update that succeeds only while the record is ``received``, so a redelivery, a sweeper re-enqueue
or a duplicate message finds it final and does nothing. On the queue's last receive a failing
webhook is marked ``failed`` (which alerts, through the audit stream) just before SQS moves the
message to the dead-letter queue.

For each webhook of a batch, in this order (the order is what keeps the invariants):

1. normalize it to a :class:`~chalicelib.payments.model.PaymentEvent` (or find it outside the
   mapping: it becomes ``ignored``);
2. apply the event to its payment record (idempotent per event id);
3. publish the event to the payment-events topic (one ``PublishBatch`` for the batch's first
   deliveries; see :func:`process_batch`);
4. mark the webhook ``processed``.

A crash after 2 leaves the webhook ``received``: its retry applies nothing twice (the event id is
already in the record) and publishes the same event again, so nothing is lost and consumers see
at most a duplicate, which they drop by ``eventId``. A publish that fails leaves the webhook
``received`` for the same retry. Per payment webhook this costs: the attempt update, the payment
write (one call when this container saw the payment last or it is new, two otherwise), a tenth
of a ``PublishBatch`` in a full batch of first deliveries (a whole one for a redelivery), and the
final update. An ignored webhook costs the two updates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import log
from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from chalicelib.store import FAILED, IGNORED, PROCESSED, WebhookRecord, WebhookStore

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.payments.publisher import PaymentEventPublisher
    from chalicelib.payments.store import PaymentStore

UNEXPECTED_FAILURE = "processing failed on an internal error; see the processor's logs"
PUBLISH_FAILURE = "the payment event could not be published"


@dataclass(frozen=True)
class ProcessingContext:
    store: WebhookStore
    max_receives: int
    payments: PaymentStore
    publisher: PaymentEventPublisher


@dataclass(frozen=True)
class Outcome:
    """What processing decided for one webhook, before it is published and finished."""

    status: str
    event: PaymentEvent | None = None
    """The event to publish (keyed to the payment it was applied to); None when ignored."""
    payment_status: str | None = None


@dataclass
class Attempt:
    """One SQS message on its way through the batch."""

    message: Mapping[str, Any]
    webhook_id: str = ""
    webhook: WebhookRecord | None = None
    outcome: Outcome | None = field(default=None)


class PublishFailed(ProcessingError):
    def __init__(self) -> None:
        super().__init__(PUBLISH_FAILURE)


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


def outcome_for(webhook: WebhookRecord, context: ProcessingContext, now: float) -> Outcome:
    """Normalize a verified webhook and apply it to its payment (steps 6 and the first of 7)."""
    event = get_provider(webhook.provider).normalize(webhook)
    if event is None:
        return Outcome(status=IGNORED)
    applied = context.payments.apply(event, now)
    log.info(
        "payment event applied" if applied.changed else "payment event already applied",
        webhookId=webhook.webhook_id,
        eventId=applied.event.event_id,
        paymentKey=applied.record.key,
        kind=event.kind,
        eventStatus=event.status,
        paymentStatus=applied.record.status,
        version=applied.record.version,
    )
    return Outcome(status=PROCESSED, event=applied.event, payment_status=applied.record.status)


def _report_failure(attempt: Attempt, exc: Exception, context: ProcessingContext) -> dict[str, str]:
    """Log a failed message, mark its webhook ``failed`` on the last receive, name it for retry."""
    message = attempt.message
    message_id = str(message.get("messageId", "")) if isinstance(message, Mapping) else ""
    last_receive = isinstance(message, Mapping) and receive_count(message) >= context.max_receives
    webhook = attempt.webhook
    log.error(
        "webhook processing failed",
        webhookId=attempt.webhook_id or None,
        source=webhook.source if webhook else None,
        attempt=webhook.attempts if webhook else None,
        deadLettering=last_receive,
        errorType=log.error_type(exc),
        itemIdentifier=message_id,
    )
    if last_receive and webhook is not None:
        reason = exc.reason if isinstance(exc, ProcessingError) else UNEXPECTED_FAILURE
        try:
            context.store.finish(attempt.webhook_id, FAILED, now=time.time(), reason=reason)
        except Exception as finish_error:  # the message is reported anyway; SQS dead-letters it
            log.error("could not mark the webhook failed", webhookId=attempt.webhook_id,
                      errorType=log.error_type(finish_error))
    return {"itemIdentifier": message_id}


def _start(attempt: Attempt, context: ProcessingContext, seen: set[str]) -> Outcome | None:
    """Begin the attempt and decide its outcome; None when there is nothing to do."""
    if not isinstance(attempt.message, Mapping):
        raise TypeError("record is not an object")
    attempt.webhook_id = webhook_id_from_message(attempt.message.get("body"))
    if attempt.webhook_id in seen:  # the same webhook twice in one batch: once is enough
        log.info("duplicate message in the batch; handled once", webhookId=attempt.webhook_id)
        return None
    seen.add(attempt.webhook_id)
    attempt.webhook = context.store.begin_attempt(attempt.webhook_id)
    if attempt.webhook is None:
        log.info("webhook already final or gone; nothing to do", webhookId=attempt.webhook_id)
        return None
    attempt.outcome = outcome_for(attempt.webhook, context, time.time())
    return attempt.outcome


def _publish(attempts: list[Attempt], context: ProcessingContext) -> set[str]:
    """Publish the batch's events; the webhookIds whose event was not accepted."""
    events = [a.outcome.event for a in attempts if a.outcome is not None and a.outcome.event]
    if not events:
        return set()
    try:
        failed_events = context.publisher.publish(events)
    except Exception as exc:  # nothing of this batch is known to be published: retry them all
        log.error("payment events not published", count=len(events), errorType=log.error_type(exc))
        return {event.webhook_id for event in events}
    return {event.webhook_id for event in events if event.event_id in failed_events}


def _finish(attempt: Attempt, context: ProcessingContext, unpublished: set[str]) -> None:
    """Mark a started webhook final (after its event, if any, was published)."""
    webhook, outcome = attempt.webhook, attempt.outcome
    if webhook is None or outcome is None:
        raise ProcessingError("a webhook was finished before it was started")
    if attempt.webhook_id in unpublished:
        raise PublishFailed()
    context.store.finish(attempt.webhook_id, outcome.status, now=time.time())
    log.info(
        "webhook processed",
        webhookId=attempt.webhook_id,
        source=webhook.source,
        eventType=webhook.event_type,
        outcome=outcome.status,
        attempt=webhook.attempts,
        eventId=outcome.event.event_id if outcome.event else None,
        paymentKey=outcome.event.payment_key if outcome.event else None,
        paymentStatus=outcome.payment_status,
    )


def process_batch(event: Mapping[str, Any], context: ProcessingContext) -> dict[str, Any]:
    """Handle an SQS batch; only the failed messages are reported back for retry.

    First deliveries of payment webhooks are published together at the end (one
    ``PublishBatch``). A webhook with nothing to publish, or one SQS has delivered before, is
    finished on its own right away: its batch may have crashed before, and finishing one webhook
    at a time guarantees that a batch which keeps failing still makes progress instead of running
    every message out of receives.
    """
    failures: list[dict[str, str]] = []
    deferred: list[Attempt] = []
    seen: set[str] = set()
    for message in event.get("Records") or []:
        attempt = Attempt(message=message)
        try:
            outcome = _start(attempt, context, seen)
            if outcome is None:
                continue
            if outcome.event is None or receive_count(message) > 1:
                _finish(attempt, context, _publish([attempt], context))
            else:
                deferred.append(attempt)
        except Exception as exc:  # one message's failure must not fail its neighbours
            failures.append(_report_failure(attempt, exc, context))
    unpublished = _publish(deferred, context)
    for attempt in deferred:
        try:
            _finish(attempt, context, unpublished)
        except Exception as exc:  # as above: report it, SQS retries it
            failures.append(_report_failure(attempt, exc, context))
    return {"batchItemFailures": failures}
