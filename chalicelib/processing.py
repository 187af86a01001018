"""Steps 5-8 of the flow: process queued webhooks, at most once in effect, whatever SQS redelivers.

A message only names a webhookId. The batch's records are read together (one consistent
``BatchGetItem``); a record that is already final (a redelivery, an ops requeue, a duplicate
message) is skipped. The attempt is counted in the same conditional update that marks the record
final, which succeeds only while the record is ``received``: a second processor racing on the
same record changes nothing. A failed attempt is counted, with its safe reason, when it is
reported back; on the queue's last receive the webhook is marked ``failed`` instead (which
alerts, through the audit stream) just before SQS moves the message to the dead-letter queue. An
attempt that dies with its Lambda (a timeout, a crash) leaves no count: SQS's receive count and
the function's error metric show it.

For each webhook of a batch, in this order (the order is what keeps the invariants):

1. normalize it to a :class:`~chalicelib.payments.model.PaymentEvent` (or find it outside the
   mapping: it becomes ``ignored``), with its source's options (Adyen's ``autoCapture``) from the
   sources registry the receiver reads, cached the same way; a configuration that cannot be read
   is a dependency outage: the message is retried, never normalized without its options;
2. apply the event to its payment record, the one of the webhook's *source* (keyed
   ``source:payment id``, so a source never changes another's payment); idempotent per event id;
3. publish the event to the payment-events topic (one ``PublishBatch`` for the batch's first
   deliveries; see :func:`process_batch`);
4. mark the webhook ``processed``.

A crash after 2 leaves the webhook ``received``: its retry applies nothing twice (the event id is
already in the record) and publishes the same event again, so nothing is lost and consumers see
at most a duplicate, which they drop by ``eventId``. A publish that fails leaves the webhook
``received`` for the same retry.

AWS calls for a full batch of ten first deliveries of payment webhooks (`make bench` counts
them): one ``BatchGetItem`` for the records, one for the payments this container has not seen,
one payment write each, one ``PublishBatch``, one final update each: 2.3 per webhook, against
3.1 when each webhook's attempt was counted by an update of its own before any work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import log
from chalicelib.errors import DependencyUnavailable, ProcessingError, SourceMisconfigured
from chalicelib.providers import get_provider
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus, attempt_entry
from chalicelib.webhooks.store import WebhookStore

if TYPE_CHECKING:
    from chalicelib.payments.model import PaymentEvent
    from chalicelib.payments.publisher import PaymentEventPublisher
    from chalicelib.payments.store import PaymentStore
    from chalicelib.providers.contract import SourceConfig
    from chalicelib.sources import SourceRegistry

UNEXPECTED_FAILURE = "processing failed on an internal error; see the processor's logs"
PUBLISH_FAILURE = "the payment event could not be published"
UNAVAILABLE_FAILURE = "the webhook record could not be read"
SOURCES_UNAVAILABLE_FAILURE = "the sources configuration could not be read"
SOURCE_BROKEN_FAILURE = "the webhook's source has a broken configuration entry"
SOURCE_GONE_FAILURE = "the webhook's source is not configured"


@dataclass(frozen=True)
class ProcessingContext:
    store: WebhookStore
    max_receives: int
    payments: PaymentStore
    publisher: PaymentEventPublisher
    sources: SourceRegistry
    """The receiver's registry (same secret, same TTL): the source options normalizers read."""


@dataclass(frozen=True)
class Outcome:
    """What processing decided for one webhook, before it is published and finished."""

    status: str
    event: PaymentEvent | None = None
    """The event to publish (keyed to the payment it was applied to); None when ignored."""
    payment_status: str | None = None
    # What applying the event did, for the webhook's one "webhook processed" line (see _finish).
    kind: str | None = None
    event_status: str | None = None
    payment_version: int | None = None
    payment_changed: bool | None = None
    """False when the event was already applied (a redelivery, or a retry after a later step failed)."""


@dataclass
class Attempt:
    """One SQS message on its way through the batch."""

    message: Mapping[str, Any]
    webhook_id: str = ""
    webhook: WebhookRecord | None = None
    event: PaymentEvent | None = None
    """The webhook normalized (None: outside the mapping, it will be ignored)."""
    outcome: Outcome | None = field(default=None)


class PublishFailed(ProcessingError):
    def __init__(self) -> None:
        super().__init__(PUBLISH_FAILURE)


class RecordUnavailable(ProcessingError):
    def __init__(self) -> None:
        super().__init__(UNAVAILABLE_FAILURE)


def source_of(webhook: WebhookRecord, context: ProcessingContext) -> SourceConfig:
    """The configuration of the source the webhook came through, or a retryable failure.

    No configuration means no options: normalizing without them could book a captured payment as
    only authorized (Adyen ``autoCapture``), so every case here is retried, then dead-lettered
    (and replayable) rather than guessed. A source removed while its webhooks wait in the queue
    is the operator's to resolve: put the entry back, or let them dead-letter.
    """
    try:
        source = context.sources.get(webhook.source)
    except SourceMisconfigured:  # logged with its problem (fault: configuration) when loaded
        raise ProcessingError(SOURCE_BROKEN_FAILURE) from None
    except DependencyUnavailable:  # Secrets Manager unreachable or refused: logged by the registry
        raise ProcessingError(SOURCES_UNAVAILABLE_FAILURE) from None
    if source is None:
        raise ProcessingError(SOURCE_GONE_FAILURE)
    return source


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


def apply_event(
    webhook: WebhookRecord, event: PaymentEvent | None, context: ProcessingContext, now: float
) -> Outcome:
    """Apply a normalized event to its payment record (step 6, after :func:`_normalize`); no event
    means the webhook is ignored."""
    if event is None:
        return Outcome(status=WebhookStatus.IGNORED)
    applied = context.payments.apply(event, now)
    # Not logged here: _finish logs one line per webhook with these facts and the outcome's (a
    # second INFO line per webhook, half its fields repeated, was ~340 bytes ingested, issue 16).
    return Outcome(
        status=WebhookStatus.PROCESSED,
        event=applied.event,
        payment_status=applied.record.status,
        kind=event.kind,
        event_status=event.status,
        payment_version=applied.record.version,
        payment_changed=applied.changed,
    )


def _report_failure(attempt: Attempt, exc: Exception, context: ProcessingContext) -> dict[str, str]:
    """Log a failed message, count the attempt (``failed`` on the last receive), name it for retry."""
    message = attempt.message
    message_id = str(message.get("messageId", "")) if isinstance(message, Mapping) else ""
    last_receive = isinstance(message, Mapping) and receive_count(message) >= context.max_receives
    webhook = attempt.webhook
    reason = exc.reason if isinstance(exc, ProcessingError) else UNEXPECTED_FAILURE
    log.error(
        "webhook processing failed",
        webhookId=attempt.webhook_id or None,
        source=webhook.source if webhook else None,
        attempt=webhook.attempts + 1 if webhook else None,
        deadLettering=last_receive,
        errorType=log.error_type(exc),
        reason=reason,  # safe by construction (ProcessingError), on every attempt, not only the last
        itemIdentifier=message_id,
        # The payment was already changed when a later step (publish, finish) failed: no other line says so.
        paymentChanged=attempt.outcome.payment_changed if attempt.outcome else None,
    )
    if webhook is not None:  # a record that could not even be read cannot be counted
        now = time.time()
        history = webhook.with_attempt(attempt_entry(now, WebhookStatus.FAILED if last_receive else "retrying", reason))
        try:
            if last_receive:
                context.store.finish(
                    attempt.webhook_id, WebhookStatus.FAILED, now=now, reason=reason, attempt_log=history
                )
            else:
                context.store.count_failed_attempt(attempt.webhook_id, reason, attempt_log=history)
        except Exception as write_error:  # the message is reported anyway; SQS retries or dead-letters it
            log.error("could not record the failed attempt", webhookId=attempt.webhook_id,
                      errorType=log.error_type(write_error))
    return {"itemIdentifier": message_id}


def _load(attempts: list[Attempt], context: ProcessingContext, failures: list[dict[str, str]]) -> list[Attempt]:
    """Read the batch's records in one call; the attempts that have work to do, in order."""
    wanted: list[Attempt] = []
    seen: set[str] = set()
    for attempt in attempts:
        try:
            if not isinstance(attempt.message, Mapping):
                raise TypeError("record is not an object")
            attempt.webhook_id = webhook_id_from_message(attempt.message.get("body"))
        except Exception as exc:  # a poison message fails alone
            failures.append(_report_failure(attempt, exc, context))
            continue
        if attempt.webhook_id in seen:  # the same webhook twice in one batch: once is enough
            log.info("duplicate message in the batch; handled once", webhookId=attempt.webhook_id)
            continue
        seen.add(attempt.webhook_id)
        wanted.append(attempt)
    if not wanted:
        return []
    try:
        loaded = context.store.load([attempt.webhook_id for attempt in wanted])
    except Exception as exc:  # nothing could be read: every message is retried
        failures.extend(_report_failure(attempt, exc, context) for attempt in wanted)
        return []
    started: list[Attempt] = []
    for attempt in wanted:
        if attempt.webhook_id in loaded.unavailable:
            failures.append(_report_failure(attempt, RecordUnavailable(), context))
            continue
        webhook = loaded.found.get(attempt.webhook_id)
        if webhook is None or webhook.is_final:
            log.info("webhook already final or gone; nothing to do", webhookId=attempt.webhook_id)
            continue
        attempt.webhook = webhook
        started.append(attempt)
    return started


def _normalize(attempts: list[Attempt], failures: list[dict[str, str]], context: ProcessingContext) -> list[Attempt]:
    """Step 6's pure half for the whole batch, so that its payments can be read together."""
    normalized: list[Attempt] = []
    for attempt in attempts:
        assert attempt.webhook is not None
        try:
            provider = get_provider(attempt.webhook.provider)
            attempt.event = provider.normalize(attempt.webhook, source_of(attempt.webhook, context).options)
        except Exception as exc:  # e.g. a payload in the mapping that cannot be read, no sources
            failures.append(_report_failure(attempt, exc, context))
            continue
        normalized.append(attempt)
    if len(normalized) > 1:  # one webhook's payment is read by its own write, no gain
        context.payments.prefetch(a.event.payment_key for a in normalized if a.event is not None)
    return normalized


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
    """Count the attempt and mark the webhook final (after its event, if any, was published)."""
    webhook, outcome = attempt.webhook, attempt.outcome
    if webhook is None or outcome is None:
        raise ProcessingError("a webhook was finished before it was started")
    if attempt.webhook_id in unpublished:
        raise PublishFailed()
    now = time.time()
    history = webhook.with_attempt(attempt_entry(now, outcome.status))
    finished = context.store.finish(attempt.webhook_id, outcome.status, now=now, attempt_log=history)
    log.info(
        "webhook processed" if finished else "webhook already finished by another attempt",
        webhookId=attempt.webhook_id,
        source=webhook.source,
        eventType=webhook.event_type,
        outcome=outcome.status,
        attempt=webhook.attempts + 1,
        eventId=outcome.event.event_id if outcome.event else None,
        paymentKey=outcome.event.payment_key if outcome.event else None,
        kind=outcome.kind,
        eventStatus=outcome.event_status,
        paymentStatus=outcome.payment_status,
        version=outcome.payment_version,
        paymentChanged=outcome.payment_changed,
    )


def process_batch(event: Mapping[str, Any], context: ProcessingContext) -> dict[str, Any]:
    """Handle an SQS batch; only the failed messages are reported back for retry.

    The records are read, and the events normalized, for the whole batch first (reads only).
    Then, message by message: apply. First deliveries of payment webhooks are published together
    at the end (one ``PublishBatch``). A webhook with nothing to publish, or one SQS has
    delivered before, is published and finished on its own right away: its batch may have
    crashed before, and finishing one webhook at a time guarantees that a batch which keeps
    failing still makes progress instead of running every message out of receives.
    """
    failures: list[dict[str, str]] = []
    attempts = [Attempt(message=message) for message in event.get("Records") or []]
    started = _normalize(_load(attempts, context, failures), failures, context)
    deferred: list[Attempt] = []
    for attempt in started:
        assert attempt.webhook is not None
        try:
            attempt.outcome = apply_event(attempt.webhook, attempt.event, context, time.time())
            if attempt.outcome.event is None or receive_count(attempt.message) > 1:
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
