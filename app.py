"""payment-webhooks: receive, verify, store once, process and audit payment provider webhooks.

Thin on purpose: each handler hands its event to chalicelib. Importing this module touches no AWS
service; clients are created on first use, once per container. Every function imports this
module, so what only one handler needs is imported by that handler, on its first event: the
receiver's cold start does not pay for the processor, the audit and the outbox (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import time
from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent

from chalicelib import log, receiver, settings
from chalicelib.runtime import services

# Logs are our own JSON lines (chalicelib.log); Chalice must not add its own text handler. Each
# handler opens log.invocation, so its lines carry the request id (from the route's
# app.lambda_context, or the event's context: Chalice sets app.lambda_context for routes only).
app = Chalice(app_name="payment-webhooks", configure_logs=False)


@app.route("/webhook/{source}", methods=["POST"], content_types=["*/*"])
def receive_webhook(source: str) -> Response:
    # Every media type reaches the handler so that a wrong one gets our 415 body, not Chalice's.
    request = app.current_request
    assert request is not None  # Chalice sets it before it calls a route
    # Typed str | bytes, but a route's raw_body is always bytes: Chalice decodes base64 and encodes text.
    assert isinstance(request.raw_body, bytes)
    with log.invocation(app.lambda_context):
        return receiver.handle_webhook(source, request.raw_body, dict(request.headers), services())


@app.on_sqs_message(queue=settings.processing_queue_name(), batch_size=10)
def process_webhooks(event: SQSEvent) -> dict[str, Any]:
    from chalicelib import processing

    with log.invocation(event.context):
        return processing.process_batch(event.to_dict(), services().processing)


@app.on_dynamodb_record(stream_arn=settings.table_stream_arn(), batch_size=100)
def audit_changes(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib import audit

    with log.invocation(event.context):
        return audit.audit_batch(event.to_dict(), services().audit)


@app.on_dynamodb_record(
    stream_arn=settings.table_stream_arn(), batch_size=100, starting_position="TRIM_HORIZON"
)
def enqueue_new_webhooks(event: DynamoDBEvent) -> dict[str, Any]:
    # The outbox: the stream queues every new webhook record (chalicelib/outbox.py).
    from chalicelib import outbox

    with log.invocation(event.context):
        return outbox.enqueue_batch(event.to_dict(), services().outbox)


@app.schedule(Rate(settings.reconcile_rate_minutes(), unit=Rate.MINUTES))
def reconcile_missed_webhooks(event: CloudWatchEvent) -> dict[str, Any]:
    # Lists the providers' events APIs for what was never delivered (chalicelib/reconcile).
    from chalicelib.reconcile import service

    with log.invocation(event.context):
        return service.run_scheduled(services(), now=time.time()).to_json()
