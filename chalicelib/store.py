"""Webhook records in DynamoDB: one item per provider event, written exactly once.

The key is the webhookId, which is derived from (source, provider event id). A provider's retry of
the same event therefore lands on the same key, and one conditional put both stores a new event
and detects a duplicate; on a duplicate DynamoDB hands back the existing item
(``ReturnValuesOnConditionCheckFailure``), so no second read is needed.

While a record is ``received`` it carries ``sweepKey`` and ``sweepAt``, the keys of a sparse index:
the sweeper finds stuck records with queries, never a scan, and a record leaves the index the
moment it becomes final. ``sweepAt`` is when the record is next due for the sweeper (its arrival
plus the sweep delay, then pushed back on every sweep), so a query returns the most overdue
records first and a record the sweeper just re-queued goes to the back of the line.

``sweepKey`` is one of :data:`SWEEP_SHARDS` values derived from the webhook id. Every new webhook
writes its index entry and every finished one removes it: one partition key value for all of them
would be a single hot partition of the index (about 1,000 writes a second), whose throttling
throttles the table's own writes. Spread over the shards, the index takes 32 times that.

Next to each record the receiver keeps a small *dedupe marker* (``seen#<webhookId>``: the
payload's SHA-256 and when the record expires, no payload) that outlives the record by far
(:data:`MARKER_RETENTION_DAYS`), so captured bytes replayed after the record's TTL removed it are
recognised; and, for providers whose signature does not bind the body (PayPal signs a CRC32), a
*transmission marker* (``tx#<provider>#<source>#<transmission id>``) that admits one body per
transmission id. Both are written by conditional puts that hand back the existing item on a
duplicate, like the record's (docs/RELIABILITY.md, "Hostile senders").
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from chalicelib.timestamps import iso_timestamp

ITEM_TYPE = "webhook"
DEDUPE_ITEM_TYPE = "dedupe"
TRANSMISSION_ITEM_TYPE = "transmission"
DEDUPE_KEY_PREFIX = "seen#"
TRANSMISSION_KEY_PREFIX = "tx#"
MARKER_RETENTION_DAYS = 400
"""How long markers are kept: well beyond any provider's retry horizon (Adyen queues retries for
up to 30 days, the others for 3) and beyond the records' 90 days, for about 200 bytes each."""
MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's item size limit (names and values; moto enforces about 405,000 bytes)."""
WEBHOOK_ID_PREFIX = "wh_"
"""Every webhook record's key starts with it; the roles that write only webhook records may
write only keys with it (``dynamodb:LeadingKeys``, infrastructure/permissions.py)."""
SWEEP_INDEX = "sweep-index"
SWEEP_SHARDS = 32
"""Partition key values of the sweep index. Two index writes per webhook (entry, then removal)
against DynamoDB's 1,000 write units a second per partition: 32 shards take 16,000 new webhooks a
second, above API Gateway's default account rate (10,000 requests a second), so the index is not
the ceiling (docs/PERFORMANCE.md). The sweeper queries each shard: 32 small queries a run."""

RECEIVED = "received"
PROCESSED = "processed"
IGNORED = "ignored"
FAILED = "failed"
FINAL_STATUSES = frozenset({PROCESSED, IGNORED, FAILED})
BATCH_GET_LIMIT = 100  # DynamoDB's limit of keys per BatchGetItem
BATCH_GET_ATTEMPTS = 3
BATCH_GET_BACKOFF_SECONDS = 0.05
STATUSES = frozenset({RECEIVED}) | FINAL_STATUSES
# Where a record came from: a provider's signed delivery, or the reconciler reading the provider's
# events API (chalicelib/reconcile). A reconciled record has no signature to show: its authenticity
# is that of the API answer (TLS to the provider's host, with our API key), said in ``authenticity``.
ORIGIN_DELIVERY = "delivery"
ORIGIN_RECONCILED = "reconciled"
PROVIDER_API_AUTHENTICITY = "provider-api-tls"
# Everything but the payload: what listing needs (payloads can be large and are never listed).
_SUMMARY_ATTRIBUTES = (
    "pk", "itemType", "source", "provider", "eventId", "eventType", "receivedAt", "status",
    "attempts", "lastError", "expiresAt", "sweeps", "sweepAt", "payloadSha256", "conflictingDeliveries",
    "origin",
)
PERMANENT_ERROR_CODES = frozenset({"ValidationException", "SerializationException"})
"""DynamoDB errors that the same request gets again however often it is retried."""


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
"""The answer stored with a new record: what the receiver answers once the record is stored and
queued (a queue failure after the write answers 503 instead, and the provider's retry gets
``duplicate``; recording that would cost a second write per request)."""


def _header_verdict(name: str) -> str | None:
    lowered = name.lower()
    verdict = None if _SECRET_HEADER_NAME.search(lowered) else lowered
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


def _attempt_log_value(entries: Sequence[Mapping[str, str]]) -> dict[str, Any]:
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


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of the size DynamoDB counts for an item of string and number attributes
    (attribute names plus values in UTF-8; a number counted as its text, which is never less)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        for text in value.values():
            size += len(str(text).encode("utf-8", "surrogatepass"))
    return size


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str):
            return code
    return ""


def is_item_too_large(exc: BaseException) -> bool:
    """DynamoDB refused the item for its size (``ValidationException: Item size has exceeded
    the maximum allowed size``): permanent, a retry of the same event fails the same way."""
    return error_code(exc) == "ValidationException" and "size" in str(exc).lower()


def is_permanent_error(exc: BaseException) -> bool:
    """A client error that no retry of the same request can cure (throttling, 5xx and network
    errors are not: they pass)."""
    return error_code(exc) in PERMANENT_ERROR_CODES


def sweep_shard(webhook_id: str) -> str:
    """The sweep index partition key of a record: ``received-<0..31>``, stable per webhook id."""
    return f"received-{zlib.crc32(webhook_id.encode()) % SWEEP_SHARDS}"


def sweep_shards() -> tuple[str, ...]:
    """Every sweep key value a record can carry. (Records written before the index was sharded and
    keyed by ``sweepAt`` are in no shard: the index itself was replaced, with its old key schema.)"""
    return tuple(f"received-{shard}" for shard in range(SWEEP_SHARDS))


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
    sweeps: int = 0
    """How many times the sweeper re-queued it (it gives up after ``MAX_SWEEPS``)."""
    sweep_at: str | None = None
    """When a ``received`` record is next due for the sweeper; None once final. A ``received``
    record built without one is due from its arrival."""
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
        if self.status == RECEIVED:
            item["sweepKey"] = {"S": sweep_shard(self.webhook_id)}
            item["sweepAt"] = {"S": self.sweep_at or self.received_at}
        if self.sweeps:
            item["sweeps"] = {"N": str(self.sweeps)}
        if self.last_error:
            item["lastError"] = {"S": self.last_error}
        if self.payload_sha256:
            item["payloadSha256"] = {"S": self.payload_sha256}
        if self.conflicting_deliveries:
            item["conflictingDeliveries"] = {"N": str(self.conflicting_deliveries)}
        if self.headers:
            item["headers"] = {"M": {name: {"S": value} for name, value in self.headers.items()}}
        if self.answer:
            item["answer"] = {"S": self.answer}
        if self.attempt_log:
            item["attemptLog"] = _attempt_log_value(self.attempt_log)
        item["origin"] = {"S": self.origin}
        if self.origin == ORIGIN_RECONCILED:
            item["authenticity"] = {"S": PROVIDER_API_AUTHENTICITY}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> WebhookRecord:
        def text(name: str, default: str = "") -> str:
            return str(item.get(name, {}).get("S", default))

        def number(name: str) -> int:
            return int(item.get(name, {}).get("N", "0"))

        return cls(
            webhook_id=text("pk"),
            source=text("source"),
            provider=text("provider"),
            event_id=text("eventId"),
            event_type=text("eventType"),
            payload=text("payload"),
            received_at=text("receivedAt"),
            status=text("status"),
            attempts=number("attempts"),
            last_error=text("lastError") or None,
            expires_at=number("expiresAt"),
            sweeps=number("sweeps"),
            sweep_at=text("sweepAt") or None,
            payload_sha256=text("payloadSha256"),
            conflicting_deliveries=number("conflictingDeliveries"),
            headers={name: value.get("S", "") for name, value in item.get("headers", {}).get("M", {}).items()},
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
            "sweeps": self.sweeps,
            "sweepAt": self.sweep_at,
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
    sweep_at: str,
    content_digest: str = "",
    headers: Mapping[str, str] | None = None,
    answer: str | None = None,
    origin: str = ORIGIN_DELIVERY,
) -> dict[str, Any]:
    """The item of a webhook just received, due for the sweeper at ``sweep_at``; its
    ``payloadSha256`` is the provider's ``content_digest`` when it gives one (see InboundEvent);
    ``headers`` are the already filtered ones (:func:`safe_headers`)."""
    return WebhookRecord(
        webhook_id, source, provider, event_id, event_type, payload, received_at, RECEIVED,
        expires_at=expires_at, sweep_at=sweep_at, payload_sha256=content_digest or payload_digest(payload),
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


class StuckRecord(NamedTuple):
    """A ``received`` record the sweeper found due, as the sweep index holds it."""

    webhook_id: str
    sweep_at: str
    sweeps: int


class PutResult(NamedTuple):
    created: bool
    status: str
    """The stored record's status: ``received`` when created, the first delivery's on a duplicate."""
    payload_sha256: str = ""
    """The stored record's payload digest (computed from its payload for a record that has none)."""
    expires_at: int = 0
    """The stored record's ``expiresAt``."""


class Claim(NamedTuple):
    """The outcome of a marker's conditional put: new, or the one already there."""

    created: bool
    digest: str
    """The digest the marker holds (the new one when created)."""
    record_expires_at: int = 0
    """Dedupe markers: when the event's record expires (or expired)."""


class Loaded(NamedTuple):
    found: dict[str, WebhookRecord]
    """The webhook records that exist, by webhookId."""
    unavailable: frozenset[str]
    """Ids DynamoDB did not answer for (throttled): not known to be missing, try again later."""


def is_conditional_failure(exc: Exception) -> bool:
    """True when a DynamoDB call failed only because its condition did not hold."""
    response = getattr(exc, "response", None)
    return (
        isinstance(response, dict)
        and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


class WebhookStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def put_new(self, item: dict[str, Any]) -> PutResult:
        """Store a new record's ``item`` (see :func:`received_item`) unless its key exists; one call
        either way."""
        existing = self._put_if_absent(item)
        if existing is None:
            return PutResult(True, RECEIVED, item.get("payloadSha256", {}).get("S", ""), _number(item, "expiresAt"))
        digest = existing.get("payloadSha256", {}).get("S") or payload_digest(existing.get("payload", {}).get("S", ""))
        return PutResult(False, existing.get("status", {}).get("S", ""), digest, _number(existing, "expiresAt"))

    def claim_event(self, marker: dict[str, Any]) -> Claim:
        """Write a dedupe marker (:func:`dedupe_marker_item`) unless one exists; one call."""
        existing = self._put_if_absent(marker)
        found = marker if existing is None else existing
        return Claim(
            existing is None, found.get("payloadSha256", {}).get("S", ""), _number(found, "recordExpiresAt")
        )

    def replace_marker(self, marker: dict[str, Any]) -> None:
        """Overwrite a dedupe marker: it must agree with a record stored before markers existed."""
        self._db.put_item(TableName=self._table, Item=marker)

    def claim_transmission(self, marker: dict[str, Any]) -> Claim:
        """Write a transmission marker (:func:`transmission_marker_item`) unless one exists."""
        existing = self._put_if_absent(marker)
        found = marker if existing is None else existing
        return Claim(existing is None, found.get("bodySha256", {}).get("S", ""))

    def count_conflict(self, webhook_id: str) -> None:
        """Count one delivery of the record's event id with another body on the record."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression="ADD conflictingDeliveries :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except Exception as exc:
            if not is_conditional_failure(exc):  # gone meanwhile (TTL): nothing to count on
                raise

    def _put_if_absent(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Put ``item`` unless its key exists: None when written, else the existing item."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise
            existing = getattr(exc, "response", {}).get("Item")
            if existing is None:  # an emulator that ignores ReturnValuesOnConditionCheckFailure
                response = self._db.get_item(TableName=self._table, Key={"pk": item["pk"]}, ConsistentRead=True)
                existing = response.get("Item")
                if existing is None:
                    raise
            return dict(existing)
        return None

    def get(self, webhook_id: str) -> WebhookRecord | None:
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": webhook_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None or item.get("itemType", {}).get("S") != ITEM_TYPE:
            return None
        return WebhookRecord.from_item(item)

    def load(self, webhook_ids: Sequence[str]) -> Loaded:
        """Read many records at once, consistently: one ``BatchGetItem`` per 100 ids.

        The processor's first step. It used to count the attempt and load the record in one
        conditional ``UpdateItem`` per webhook; a batch of ten now costs one read call instead of
        ten writes (the attempt is counted in the final update, see :meth:`finish`), and a strongly
        consistent read of a 2 KB item is 1 read unit against 2 write units (docs/PERFORMANCE.md).
        Consistent, so a record stored a moment ago is never missed. Items that DynamoDB leaves
        unprocessed (throttling) are asked for again a few times, then reported as unavailable.
        """
        found: dict[str, WebhookRecord] = {}
        unavailable: set[str] = set()
        pending = list(dict.fromkeys(webhook_ids))
        for start in range(0, len(pending), BATCH_GET_LIMIT):
            keys = [{"pk": {"S": webhook_id}} for webhook_id in pending[start : start + BATCH_GET_LIMIT]]
            for retry in range(BATCH_GET_ATTEMPTS):
                response = self._db.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
                for item in response.get("Responses", {}).get(self._table, []):
                    if item.get("itemType", {}).get("S") == ITEM_TYPE:
                        record = WebhookRecord.from_item(item)
                        found[record.webhook_id] = record
                keys = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if not keys:
                    break
                if retry + 1 < BATCH_GET_ATTEMPTS:
                    time.sleep(BATCH_GET_BACKOFF_SECONDS * (retry + 1))
            unavailable.update(key["pk"]["S"] for key in keys)
        return Loaded(found=found, unavailable=frozenset(unavailable))

    def finish(
        self,
        webhook_id: str,
        status: str,
        now: float,
        reason: str | None = None,
        attempt_log: Sequence[Mapping[str, str]] | None = None,
    ) -> bool:
        """Count the attempt and move a ``received`` record to a final status, in one call.

        False if it was already final (another delivery of the same message finished it first):
        the attempt then changes nothing. Success clears ``lastError``; ``failed`` records it.
        """
        assert status in FINAL_STATUSES
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":received": {"S": RECEIVED},
            ":at": {"S": iso_timestamp(now)},
            ":one": {"N": "1"},
        }
        update = "SET #s = :status, finishedAt = :at ADD attempts :one REMOVE sweepKey, sweepAt, lastError"
        if reason is not None:
            update = (
                "SET #s = :status, finishedAt = :at, lastError = :reason ADD attempts :one "
                "REMOVE sweepKey, sweepAt"
            )
            values[":reason"] = {"S": reason}
        if attempt_log is not None:  # the whole bounded list, as the caller read it plus this attempt
            update = update.replace("finishedAt = :at", "finishedAt = :at, attemptLog = :log", 1)
            values[":log"] = _attempt_log_value(attempt_log)
        return self._update_received(webhook_id, update, values)

    def count_failed_attempt(
        self, webhook_id: str, reason: str, attempt_log: Sequence[Mapping[str, str]] | None = None
    ) -> bool:
        """Count an attempt that failed (SQS will deliver the message again) and say why.

        False if the record is no longer ``received``.
        """
        update = "SET lastError = :reason ADD attempts :one"
        values: dict[str, Any] = {":reason": {"S": reason}, ":one": {"N": "1"}, ":received": {"S": RECEIVED}}
        if attempt_log is not None:
            update = "SET lastError = :reason, attemptLog = :log ADD attempts :one"
            values[":log"] = _attempt_log_value(attempt_log)
        return self._update_received(webhook_id, update, values)

    def _update_received(
        self, webhook_id: str, update: str, values: dict[str, Any], condition: str = "#s = :received"
    ) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def reopen(self, webhook_id: str, sweep_at: str, now: float | None = None) -> bool:
        """Put a final record back to ``received`` so that a replay processes it again.

        It is due for the sweeper again at ``sweep_at`` with its sweep count reset: a replay is a
        fresh start, and the sweeper must not give up on it at once. The reopening is noted in the
        attempt history (appended: an operator's rare action; the processor's next write bounds it).
        """
        entry = attempt_entry(time.time() if now is None else now, "reopened")
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression=(
                    "SET #s = :received, sweepKey = :shard, sweepAt = :due, "
                    "attemptLog = list_append(if_not_exists(attemptLog, :none), :reopened) REMOVE finishedAt, sweeps"
                ),
                ConditionExpression="attribute_exists(pk) AND itemType = :type",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": RECEIVED},
                    ":shard": {"S": sweep_shard(webhook_id)},
                    ":due": {"S": sweep_at},
                    ":type": {"S": ITEM_TYPE},
                    ":none": {"L": []},
                    ":reopened": _attempt_log_value([entry]),
                },
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def due_for_sweep(self, now: str, limit: int) -> list[StuckRecord]:
        """Records still ``received`` whose ``sweepAt`` has passed, most overdue first, at most
        ``limit``.

        Each shard is queried in ``sweepAt`` order for at most ``limit`` entries (index items of
        about 100 bytes: the keys and the sweep count; one read unit covers forty), and the shards
        are merged, so the result is the ``limit`` most overdue records of the whole table.
        """
        due: list[StuckRecord] = []
        for shard in sweep_shards():
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": SWEEP_INDEX,
                "KeyConditionExpression": "sweepKey = :shard AND sweepAt <= :now",
                "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"S": now}},
                "ProjectionExpression": "pk, sweepAt, sweeps",
            }
            found = 0
            while found < limit:
                kwargs["Limit"] = limit - found
                response = self._db.query(**kwargs)
                for item in response.get("Items", []):
                    sweeps = int(item.get("sweeps", {}).get("N", "0"))
                    due.append(StuckRecord(item["pk"]["S"], item["sweepAt"]["S"], sweeps))
                    found += 1
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        due.sort(key=lambda record: record.sweep_at)
        return due[:limit]

    def count_sweep(self, record: StuckRecord, next_sweep_at: str) -> bool:
        """Count one sweep of a due record and push its next one back, in one conditional update.

        The condition (still ``received``, still due at the time the query saw) makes a record that
        finished meanwhile, or that another sweeper run took first, a no-op: False then.
        """
        return self._update_received(
            record.webhook_id,
            "SET sweepAt = :next ADD sweeps :one",
            {
                ":next": {"S": next_sweep_at},
                ":one": {"N": "1"},
                ":received": {"S": RECEIVED},
                ":seen": {"S": record.sweep_at},
            },
            condition="#s = :received AND sweepAt = :seen",
        )

    def give_up(self, webhook_id: str, now: float, reason: str) -> bool:
        """Mark a record that sweeping did not get processed ``failed`` (no attempt is counted: the
        processor never finished one). False if it is no longer ``received``."""
        return self._update_received(
            webhook_id,
            "SET #s = :failed, finishedAt = :at, lastError = :reason REMOVE sweepKey, sweepAt",
            {
                ":failed": {"S": FAILED},
                ":at": {"S": iso_timestamp(now)},
                ":reason": {"S": reason},
                ":received": {"S": RECEIVED},
            },
        )

    def scan_records(
        self,
        *,
        source: str | None = None,
        status: str | None = None,
        received_from: str | None = None,
        received_before: str | None = None,
    ) -> Iterator[WebhookRecord]:
        """Every webhook record matching the filters, without its payload, in no useful order.

        For operators (``ops list`` and ``ops replay``), never for the request path: a Scan reads
        the whole table and the filters only trim what comes back. Times are ``receivedAt`` values
        (see :func:`iso_timestamp`), which compare correctly as text.
        """
        names = {f"#a{i}": name for i, name in enumerate(_SUMMARY_ATTRIBUTES)}
        by_name = {name: alias for alias, name in names.items()}
        values: dict[str, Any] = {":type": {"S": ITEM_TYPE}}
        conditions = [f"{by_name['itemType']} = :type"]
        for attribute, operator, placeholder, value in (
            ("source", "=", ":source", source),
            ("status", "=", ":status", status),
            ("receivedAt", ">=", ":from", received_from),
            ("receivedAt", "<", ":before", received_before),
        ):
            if value is not None:
                conditions.append(f"{by_name[attribute]} {operator} {placeholder}")
                values[placeholder] = {"S": value}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": ", ".join(names),
            "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        while True:
            response = self._db.scan(**kwargs)
            for item in response.get("Items", []):
                yield WebhookRecord.from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
