"""Webhook records: what one stored provider event holds, its statuses, and how its items are built.

Webhook records in DynamoDB: one item per provider event, written exactly once.

The key is the webhookId, which is derived from (source, provider event id). A provider's retry of
the same event therefore lands on the same key, and one conditional put both stores a new event
and detects a duplicate; on a duplicate DynamoDB hands back the existing item
(``ReturnValuesOnConditionCheckFailure``), so no second read is needed.

A record has no index entry: the table's stream delivers every new record to the queue
(chalicelib/outbox.py), so nothing has to find records left ``received`` (the sparse sweep index
that did, and its two writes per webhook, are gone). Records written before carry ``sweepKey``,
``sweepAt`` and ``sweeps``, which nothing reads any more; they leave with the records' TTL.

Next to each record the receiver keeps a small *dedupe marker* (``seen#<webhookId>``: the
payload's SHA-256 and when the record expires, no payload) that outlives the record by far
(:data:`MARKER_RETENTION_DAYS`), so captured bytes replayed after the record's TTL removed it are
recognised; and, for providers whose signature does not bind the body (PayPal signs a CRC32), a
*transmission marker* (``tx#<provider>#<source>#<transmission id>``) that admits one body per
transmission id. Both are written by conditional puts that hand back the existing item on a
duplicate, like the record's (docs/RELIABILITY.md, "Hostile senders").

The store that writes and reads these items is :mod:`chalicelib.webhooks.store`; how a record's
payload, headers and digest are packed into one write unit, and read back from any encoding, is
:mod:`chalicelib.webhooks.encoding`.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.encoding import digest_value, fit_write_unit, stored_digest, stored_payload_and_headers

ITEM_TYPE = "webhook"
DEDUPE_ITEM_TYPE = "dedupe"
TRANSMISSION_ITEM_TYPE = "transmission"
DEDUPE_KEY_PREFIX = "seen#"
TRANSMISSION_KEY_PREFIX = "tx#"
MARKER_RETENTION_DAYS = 400
"""How long markers are kept: well beyond any provider's retry horizon (Adyen queues retries for
up to 30 days, the others for 3) and beyond the records' 90 days, for about 200 bytes each."""
WEBHOOK_ID_PREFIX = "wh_"
"""Every webhook record's key starts with it; the roles that write only webhook records may
write only keys with it (``dynamodb:LeadingKeys``, infrastructure/permissions.py)."""



class WebhookStatus(StrEnum):
    """Where a webhook record is: ``received`` until processing finishes it, then final."""

    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    """Stored and verified, but outside the payment mapping (never dropped: replayable)."""
    FAILED = "failed"
    """Given up on (permanent error, attempts exhausted): alerted, replayable."""


FINAL_STATUSES = frozenset({WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.FAILED})
STATUSES = frozenset(WebhookStatus)
# Where a record came from: a provider's signed delivery, or the reconciler reading the provider's
# events API (chalicelib/reconcile). A reconciled record has no signature to show: its authenticity
# is that of the API answer (TLS to the provider's host, with our API key), said in ``authenticity``.
ORIGIN_DELIVERY = "delivery"
ORIGIN_RECONCILED = "reconciled"
PROVIDER_API_AUTHENTICITY = "provider-api-tls"
# Everything but the payload: what listing needs (payloads can be large and are never listed).
SUMMARY_ATTRIBUTES = (
    "pk", "itemType", "source", "provider", "eventId", "eventType", "receivedAt", "status",
    "attempts", "lastError", "expiresAt", "payloadSha256", "conflictingDeliveries",
    "origin",
)



ATTEMPT_HISTORY_LIMIT = 10
"""Attempts a record remembers (``attemptLog``), newest last: enough for the console's inspector,
bounded so that a webhook retried for days does not grow its item (about 45-110 bytes each)."""
HEADER_COUNT_LIMIT = 24
HEADER_VALUE_LIMIT = 256
# Header names that may carry a credential whatever the provider: never stored. The provider's own
# signature headers (the registry's ``signature_headers``) are dropped as well, by name.
_SECRET_HEADER_NAME = re.compile(r"signature|secret|token|auth|cookie|password|api-?key")
_HEADER_VERDICTS: dict[str, str | None] = {}
"""Per header name as received: its lower-case form, or None when it looks like a credential. The
same few dozen names arrive on every request: one dict lookup each instead of a regex search
(the request path's budget, docs/PERFORMANCE.md). Bounded, against a sender inventing names."""
_HEADER_VERDICTS_LIMIT = 4096
_UNSEEN = ""
ANSWER_ACCEPTED = "200 accepted"
"""The answer stored with a new record: what the receiver answers once the record is stored (the
table's stream queues it: chalicelib/outbox.py). Written with the record, so a failure to answer
after the write (the function timed out) is not recorded: the provider's retry gets ``duplicate``."""


_EDGE_HEADERS = frozenset({
    "host", "content-length", "connection", "accept-encoding", "via", "x-amzn-trace-id", "x-amz-cf-id",
    "x-forwarded-port", "x-forwarded-proto",
})
"""Headers our own edge adds or that say nothing about the sender, never stored: API Gateway's and
CloudFront's (``Via``, ``X-Amzn-Trace-Id``, ``X-Amz-Cf-Id``, ``CloudFront-*``, ``X-Forwarded-Port``
and ``-Proto``), our own host name, hop-by-hop ones, and ``Content-Length`` (the stored payload's
length). About 250 bytes of a record behind API Gateway, for nothing the inspector needs; the trace
id is in the logs and traces already. ``X-Forwarded-For`` stays: the one fact about who sent it."""
_EDGE_HEADER_PREFIXES = ("cloudfront-", "x-amzn-")


def _header_verdict(name: str) -> str | None:
    lowered = name.lower()
    edge = lowered in _EDGE_HEADERS or lowered.startswith(_EDGE_HEADER_PREFIXES)
    verdict = None if edge or _SECRET_HEADER_NAME.search(lowered) else lowered
    if len(_HEADER_VERDICTS) < _HEADER_VERDICTS_LIMIT:
        _HEADER_VERDICTS[name] = verdict
    return verdict


def safe_headers(headers: Mapping[str, str], signature_headers: Sequence[str]) -> dict[str, str]:
    """The request headers worth keeping for the inspector: no signature, no credential, bounded.

    ``signature_headers`` are lower-case names (the registry's). Values are cut at
    ``HEADER_VALUE_LIMIT`` characters and at most ``HEADER_COUNT_LIMIT`` headers are kept.
    """
    verdicts = _HEADER_VERDICTS
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = verdicts.get(name, _UNSEEN)
        if lowered == _UNSEEN:
            lowered = _header_verdict(name)
        if lowered is None or lowered in signature_headers:
            continue
        kept[lowered] = value if len(value) <= HEADER_VALUE_LIMIT else value[:HEADER_VALUE_LIMIT]
    if len(kept) > HEADER_COUNT_LIMIT:
        kept = dict(list(kept.items())[:HEADER_COUNT_LIMIT])
    return kept


def attempt_entry(at: float, outcome: str, error: str | None = None) -> dict[str, str]:
    """One line of a record's attempt history: when, what came of it, and the safe reason."""
    entry = {"at": iso_timestamp(at), "outcome": outcome}
    if error:
        entry["error"] = error
    return entry


def attempt_log_value(entries: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return {"L": [{"M": {name: {"S": value} for name, value in entry.items()}} for entry in entries]}


def webhook_id_for(source: str, event_id: str) -> str:
    """Stable, opaque id of one provider event at one source (128 bits of SHA-256)."""
    return WEBHOOK_ID_PREFIX + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:32]


def payload_digest(payload: str) -> str:
    """Hex SHA-256 of a payload's UTF-8 text: what tells two bodies of one event apart."""
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def dedupe_key(webhook_id: str) -> str:
    return DEDUPE_KEY_PREFIX + webhook_id


def transmission_key(provider: str, source: str, transmission_id: str) -> str:
    return f"{TRANSMISSION_KEY_PREFIX}{provider}#{source}#{transmission_id}"


@dataclass
class WebhookRecord:
    """One webhook record, as stored (payload included) and as read back."""

    webhook_id: str
    source: str
    provider: str
    event_id: str
    event_type: str
    payload: str
    received_at: str
    status: str
    attempts: int = 0
    last_error: str | None = None
    expires_at: int = 0
    payload_sha256: str = ""
    """Hex SHA-256 of ``payload`` (or the provider's ``content_digest``, which leaves out fields its
    genuine retries change); empty on records stored before it was kept."""
    conflicting_deliveries: int = 0
    """Later deliveries of the same event id with another body (answered ``duplicate``, alerted)."""
    headers: dict[str, str] = field(default_factory=dict)
    """The non-secret request headers it arrived with (:func:`safe_headers`); empty for older records."""
    answer: str | None = None
    """The answer the receiver gave (:data:`ANSWER_ACCEPTED`); None for older records."""
    attempt_log: tuple[dict[str, str], ...] = ()
    """The last ``ATTEMPT_HISTORY_LIMIT`` attempts (:func:`attempt_entry`), oldest first."""

    def with_attempt(self, entry: dict[str, str]) -> list[dict[str, str]]:
        """The attempt history once ``entry`` is added, bounded: what the processor writes back."""
        return [*self.attempt_log, entry][-ATTEMPT_HISTORY_LIMIT:]
    origin: str = ORIGIN_DELIVERY
    """``delivery`` or ``reconciled``; records older than the field are deliveries."""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": self.webhook_id},
            "itemType": {"S": ITEM_TYPE},
            "source": {"S": self.source},
            "provider": {"S": self.provider},
            "eventId": {"S": self.event_id},
            "eventType": {"S": self.event_type},
            "payload": {"S": self.payload},
            "receivedAt": {"S": self.received_at},
            "status": {"S": self.status},
            "attempts": {"N": str(self.attempts)},
            "expiresAt": {"N": str(self.expires_at)},
        }
        if self.last_error:
            item["lastError"] = {"S": self.last_error}
        if self.payload_sha256:
            item["payloadSha256"] = digest_value(self.payload_sha256)
        if self.conflicting_deliveries:
            item["conflictingDeliveries"] = {"N": str(self.conflicting_deliveries)}
        if self.headers:
            item["headers"] = {"M": {name: {"S": value} for name, value in self.headers.items()}}
        if self.answer:
            item["answer"] = {"S": self.answer}
        if self.attempt_log:
            item["attemptLog"] = attempt_log_value(self.attempt_log)
        if self.origin != ORIGIN_DELIVERY:
            # A delivery is what a record without ``origin`` is (the records older than the field
            # are deliveries too): 14 bytes less on nearly every record.
            item["origin"] = {"S": self.origin}
        if self.origin == ORIGIN_RECONCILED:
            item["authenticity"] = {"S": PROVIDER_API_AUTHENTICITY}
        fit_write_unit(item, self.payload, self.headers)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> WebhookRecord:
        def text(name: str, default: str = "") -> str:
            return str(item.get(name, {}).get("S", default))

        def number(name: str) -> int:
            return int(item.get(name, {}).get("N", "0"))

        payload, headers = stored_payload_and_headers(item)
        return cls(
            webhook_id=text("pk"),
            source=text("source"),
            provider=text("provider"),
            event_id=text("eventId"),
            event_type=text("eventType"),
            payload=payload,
            received_at=text("receivedAt"),
            status=text("status"),
            attempts=number("attempts"),
            last_error=text("lastError") or None,
            expires_at=number("expiresAt"),
            payload_sha256=stored_digest(item),
            conflicting_deliveries=number("conflictingDeliveries"),
            headers=headers,
            answer=text("answer") or None,
            attempt_log=tuple(
                {name: value.get("S", "") for name, value in entry.get("M", {}).items()}
                for entry in item.get("attemptLog", {}).get("L", [])
            ),
            origin=text("origin", ORIGIN_DELIVERY),
        )

    def to_json(self) -> dict[str, Any]:
        """The operator's view (``ops show --json``): everything but the raw payload."""
        return {
            "webhookId": self.webhook_id,
            "source": self.source,
            "provider": self.provider,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "status": self.status,
            "receivedAt": self.received_at,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "expiresAt": self.expires_at,
            "payloadSha256": self.payload_sha256 or None,
            "conflictingDeliveries": self.conflicting_deliveries,
            "headers": self.headers,
            "answer": self.answer,
            "attemptLog": list(self.attempt_log),
            "origin": self.origin,
        }


def received_item(
    webhook_id: str,
    source: str,
    provider: str,
    event_id: str,
    event_type: str,
    payload: str,
    received_at: str,
    expires_at: int,
    *,
    content_digest: str = "",
    headers: Mapping[str, str] | None = None,
    answer: str | None = None,
    origin: str = ORIGIN_DELIVERY,
) -> dict[str, Any]:
    """The item of a webhook just received; its
    ``payloadSha256`` is the provider's ``content_digest`` when it gives one (see InboundEvent);
    ``headers`` are the already filtered ones (:func:`safe_headers`)."""
    return WebhookRecord(
        webhook_id, source, provider, event_id, event_type, payload, received_at, WebhookStatus.RECEIVED,
        expires_at=expires_at, payload_sha256=content_digest or payload_digest(payload),
        headers=dict(headers or {}), answer=answer, origin=origin,
    ).to_item()


def dedupe_marker_item(webhook_id: str, digest: str, record_expires_at: int, expires_at: int) -> dict[str, Any]:
    """The long-lived trace of one event: no payload, so it costs one write unit (about 200 bytes)."""
    return {
        "pk": {"S": dedupe_key(webhook_id)},
        "itemType": {"S": DEDUPE_ITEM_TYPE},
        "payloadSha256": {"S": digest},
        "recordExpiresAt": {"N": str(record_expires_at)},
        "expiresAt": {"N": str(expires_at)},
    }


def transmission_marker_item(key: str, digest: str, event_ids: Sequence[str], expires_at: int) -> dict[str, Any]:
    """The one body a transmission id may carry (its SHA-256) and the events it carried."""
    return {
        "pk": {"S": key},
        "itemType": {"S": TRANSMISSION_ITEM_TYPE},
        "bodySha256": {"S": digest},
        "eventIds": {"L": [{"S": event_id} for event_id in event_ids]},
        "expiresAt": {"N": str(expires_at)},
    }


