"""Webhook records in DynamoDB: one item per provider event, written exactly once.

The key is the webhookId, which is derived from (source, provider event id). A provider's retry of
the same event therefore lands on the same key, and one conditional put both stores a new event
and detects a duplicate; on a duplicate DynamoDB hands back the existing item
(``ReturnValuesOnConditionCheckFailure``), so no second read is needed.

While a record is ``received`` it carries ``sweepKey``, the partition key of a sparse index whose
sort key is ``receivedAt``: the sweeper finds stuck records with a query, never a scan, and a
record leaves the index the moment it becomes final.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.timestamps import iso_timestamp

ITEM_TYPE = "webhook"
SWEEP_INDEX = "sweep-index"
SWEEP_KEY_RECEIVED = "received"

RECEIVED = "received"
PROCESSED = "processed"
IGNORED = "ignored"
FAILED = "failed"
FINAL_STATUSES = frozenset({PROCESSED, IGNORED, FAILED})
STATUSES = frozenset({RECEIVED}) | FINAL_STATUSES
# Everything but the payload: what listing needs (payloads can be large and are never listed).
_SUMMARY_ATTRIBUTES = (
    "pk", "itemType", "source", "provider", "eventId", "eventType", "receivedAt", "status",
    "attempts", "lastError", "expiresAt",
)


def webhook_id_for(source: str, event_id: str) -> str:
    """Stable, opaque id of one provider event at one source (128 bits of SHA-256)."""
    return "wh_" + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class WebhookRecord:
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
            item["sweepKey"] = {"S": SWEEP_KEY_RECEIVED}
        if self.last_error:
            item["lastError"] = {"S": self.last_error}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> WebhookRecord:
        def text(name: str, default: str = "") -> str:
            return item.get(name, {}).get("S", default)

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
        }


@dataclass(frozen=True)
class PutResult:
    created: bool
    record: WebhookRecord
    """The record now stored: ours when created, the first delivery's on a duplicate."""


def _is_conditional_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return (
        isinstance(response, dict)
        and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


class WebhookStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def put_new(self, record: WebhookRecord) -> PutResult:
        """Store ``record`` unless its key exists; one call either way."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=record.to_item(),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if not _is_conditional_failure(exc):
                raise
            existing = getattr(exc, "response", {}).get("Item")
            if existing is None:  # an emulator that ignores ReturnValuesOnConditionCheckFailure
                found = self.get(record.webhook_id)
                if found is None:
                    raise
                return PutResult(created=False, record=found)
            return PutResult(created=False, record=WebhookRecord.from_item(existing))
        return PutResult(created=True, record=record)

    def get(self, webhook_id: str) -> WebhookRecord | None:
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": webhook_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None or item.get("itemType", {}).get("S") != ITEM_TYPE:
            return None
        return WebhookRecord.from_item(item)

    def begin_attempt(self, webhook_id: str) -> WebhookRecord | None:
        """Count one processing attempt and return the record, in one call.

        Returns None when there is nothing to do: the record is already final (a redelivery or
        a replay), or it no longer exists.
        """
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression="ADD attempts :one",
                ConditionExpression="attribute_exists(pk) AND itemType = :type AND #s = :received",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":type": {"S": ITEM_TYPE},
                    ":received": {"S": RECEIVED},
                },
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        return WebhookRecord.from_item(response["Attributes"])

    def finish(self, webhook_id: str, status: str, now: float, reason: str | None = None) -> bool:
        """Move a ``received`` record to a final status; False if it was already final."""
        assert status in FINAL_STATUSES
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":received": {"S": RECEIVED},
            ":at": {"S": iso_timestamp(now)},
        }
        update = "SET #s = :status, finishedAt = :at REMOVE sweepKey"
        if reason is not None:
            update = "SET #s = :status, finishedAt = :at, lastError = :reason REMOVE sweepKey"
            values[":reason"] = {"S": reason}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression=update,
                ConditionExpression="#s = :received",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def reopen(self, webhook_id: str) -> bool:
        """Put a final record back to ``received`` so that a replay processes it again."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression="SET #s = :received, sweepKey = :sweep REMOVE finishedAt",
                ConditionExpression="attribute_exists(pk) AND itemType = :type",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": RECEIVED},
                    ":sweep": {"S": SWEEP_KEY_RECEIVED},
                    ":type": {"S": ITEM_TYPE},
                },
            )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def stuck_since(self, received_before: str, limit: int) -> list[str]:
        """Ids of records still ``received`` that arrived before ``received_before`` (oldest first)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": SWEEP_INDEX,
            "KeyConditionExpression": "sweepKey = :received AND receivedAt < :before",
            "ExpressionAttributeValues": {
                ":received": {"S": SWEEP_KEY_RECEIVED},
                ":before": {"S": received_before},
            },
            "ProjectionExpression": "pk",
        }
        while len(ids) < limit:
            kwargs["Limit"] = limit - len(ids)
            response = self._db.query(**kwargs)
            ids.extend(item["pk"]["S"] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return ids

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
