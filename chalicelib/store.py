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
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from chalicelib.timestamps import iso_timestamp

ITEM_TYPE = "webhook"
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
# Everything but the payload: what listing needs (payloads can be large and are never listed).
_SUMMARY_ATTRIBUTES = (
    "pk", "itemType", "source", "provider", "eventId", "eventType", "receivedAt", "status",
    "attempts", "lastError", "expiresAt", "sweeps", "sweepAt",
)


def webhook_id_for(source: str, event_id: str) -> str:
    """Stable, opaque id of one provider event at one source (128 bits of SHA-256)."""
    return WEBHOOK_ID_PREFIX + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:32]


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
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> WebhookRecord:
        def text(name: str, default: str = "") -> str:
            value: str = item.get(name, {}).get("S", default)  # a DynamoDB string attribute
            return value

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
) -> dict[str, Any]:
    """The item of a webhook just received, due for the sweeper at ``sweep_at``."""
    return WebhookRecord(
        webhook_id, source, provider, event_id, event_type, payload, received_at, RECEIVED,
        expires_at=expires_at, sweep_at=sweep_at,
    ).to_item()


class StuckRecord(NamedTuple):
    """A ``received`` record the sweeper found due, as the sweep index holds it."""

    webhook_id: str
    sweep_at: str
    sweeps: int


class PutResult(NamedTuple):
    created: bool
    status: str
    """The stored record's status: ``received`` when created, the first delivery's on a duplicate."""


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


class WebhookStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def put_new(self, item: dict[str, Any]) -> PutResult:
        """Store a new record's ``item`` (see :func:`received_item`) unless its key exists; one call
        either way."""
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
                found = self.get(item["pk"]["S"])
                if found is None:
                    raise
                return PutResult(False, found.status)
            return PutResult(False, existing.get("status", {}).get("S", ""))
        return PutResult(True, RECEIVED)

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

    def finish(self, webhook_id: str, status: str, now: float, reason: str | None = None) -> bool:
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
        return self._update_received(webhook_id, update, values)

    def count_failed_attempt(self, webhook_id: str, reason: str) -> bool:
        """Count an attempt that failed (SQS will deliver the message again) and say why.

        False if the record is no longer ``received``.
        """
        return self._update_received(
            webhook_id,
            "SET lastError = :reason ADD attempts :one",
            {":reason": {"S": reason}, ":one": {"N": "1"}, ":received": {"S": RECEIVED}},
        )

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

    def reopen(self, webhook_id: str, sweep_at: str) -> bool:
        """Put a final record back to ``received`` so that a replay processes it again.

        It is due for the sweeper again at ``sweep_at`` with its sweep count reset: a replay is a
        fresh start, and the sweeper must not give up on it at once.
        """
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression="SET #s = :received, sweepKey = :shard, sweepAt = :due REMOVE finishedAt, sweeps",
                ConditionExpression="attribute_exists(pk) AND itemType = :type",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": RECEIVED},
                    ":shard": {"S": sweep_shard(webhook_id)},
                    ":due": {"S": sweep_at},
                    ":type": {"S": ITEM_TYPE},
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
