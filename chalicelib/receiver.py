"""The HTTP side of ``POST /webhook/{source}``: request in, one answer and one log line out.

Every answer is decided here: 200 with the webhookId (or the provider's own acknowledgement body,
Adyen's ``[accepted]``), a 4xx from :mod:`chalicelib.errors`, 503 with ``Retry-After`` when a
dependency failed or the source is misconfigured, and a generic 500 for anything unexpected. No
answer and no log line carries exception text, except a configuration problem's own message
(written to name the source and the problem, never a value) in the log line.
"""

from __future__ import annotations

import time
from typing import Any

from chalice import Response

from chalicelib import log
from chalicelib.encoding import compact_json
from chalicelib.errors import ConfigurationError, DependencyUnavailable, SourceMisconfigured, WebhookError
from chalicelib.ingest import Ack, Delivery, receive
from chalicelib.providers import get_provider
from chalicelib.runtime import Services


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=compact_json(body),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def ack_response(ack: Ack) -> Response:
    fixed = get_provider(ack.source.provider).acknowledgement
    if fixed is not None:
        # The provider's own body (Adyen's "[accepted]"); the ids travel in a header.
        return Response(
            body=fixed.body,
            status_code=200,
            headers={"Content-Type": fixed.content_type, "X-Webhook-Ids": ",".join(ack.webhook_ids)},
        )
    status = "duplicate" if ack.duplicate else "accepted"
    body = compact_json({"webhookId": ack.webhook_ids[0], "status": status})
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    if len(ack.webhook_ids) > 1:  # a delivery of several events (GoCardless): every id, in order
        headers["X-Webhook-Ids"] = ",".join(ack.webhook_ids)
    return Response(body=body, status_code=200, headers=headers)


def error_response(error: WebhookError) -> Response:
    headers = {}
    if isinstance(error, DependencyUnavailable):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return _json_response(error.status, error.to_body(), headers)


def handle_webhook(source: str, body: bytes, headers: dict[str, str], services: Services) -> Response:
    delivery = Delivery(source, body or b"", {k.lower(): v for k, v in headers.items()})
    try:
        try:
            ack = receive(delivery, services.ingest, now=time.time())
        except ConfigurationError as exc:
            # A provider found the source's keys or options unusable: the operator must fix it,
            # and the provider must retry meanwhile (a 4xx would make it drop the event).
            raise SourceMisconfigured(str(exc)) from None
    except WebhookError as error:
        cause = error.__cause__
        fields: dict[str, Any] = {"source": source, "outcome": "rejected", "httpStatus": error.status,
                                  "error": error.code}
        if cause is not None:
            fields["errorType"] = log.error_type(cause)
        if isinstance(error, SourceMisconfigured):
            fields.update(fault="configuration", problem=error.problem)  # the alarm's metric filter
        (log.error if error.status >= 500 else log.warning)("webhook rejected", **fields)
        return error_response(error)
    except Exception as exc:  # a bug: answer 500 (the provider retries) and say nothing about it
        log.error("webhook failed", source=source, outcome="error", httpStatus=500, errorType=log.error_type(exc))
        return _json_response(500, WebhookError().to_body())
    log.info(
        "webhook received",
        source=source,
        provider=ack.source.provider,
        outcome="duplicate" if ack.duplicate else "accepted",
        httpStatus=200,
        webhookIds=ack.webhook_ids,  # a tuple is written as a JSON list
    )
    return ack_response(ack)
