"""The webhook record store: the conditional writes and consistent reads of webhook records and
their markers in DynamoDB (the items themselves are :mod:`chalicelib.webhooks.record`'s)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from chalicelib import dynamo
from chalicelib.dynamo import is_conditional_failure
from chalicelib.webhooks.encoding import stored_digest, stored_payload
from chalicelib.webhooks.record import (
    FINAL_STATUSES,
    ITEM_TYPE,
    SUMMARY_ATTRIBUTES,
    WebhookRecord,
    WebhookStatus,
    attempt_entry,
    attempt_log_value,
    payload_digest,
)


class PutResult(NamedTuple):
    created: bool
    status: str
    """The stored record's status: ``received`` when created, the first delivery's on a duplicate."""
    payload_sha256: str = ""
    """The stored record's payload digest (computed from its payload for a record that has none)."""
    expires_at: int = 0
    """The stored record's ``expiresAt``."""
    received_at: str = ""
    """The stored record's ``receivedAt``: a duplicate's tells how long it has been ``received``."""


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


BATCH_GET_ATTEMPTS = 3
BATCH_GET_BACKOFF_SECONDS = 0.05
"""A throttled key of a record read is asked for again twice, after 50 then 100 ms."""


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


class WebhookStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def put_new(self, item: dict[str, Any]) -> PutResult:
        """Store a new record's ``item`` (see :func:`received_item`) unless its key exists; one call
        either way."""
        existing = self._put_if_absent(item)
        if existing is None:
            digest = stored_digest(item)
            return PutResult(
                True, WebhookStatus.RECEIVED, digest, _number(item, "expiresAt"), _text(item, "receivedAt")
            )
        digest = stored_digest(existing) or payload_digest(stored_payload(existing))
        return PutResult(
            False, _text(existing, "status"), digest, _number(existing, "expiresAt"), _text(existing, "receivedAt")
        )

    def claim_event(self, marker: dict[str, Any]) -> Claim:
        """Write a dedupe marker (:func:`dedupe_marker_item`) unless one exists; one call."""
        existing = self._put_if_absent(marker)
        found = marker if existing is None else existing
        return Claim(
            existing is None, stored_digest(found), _number(found, "recordExpiresAt")
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
        keys = [{"pk": {"S": webhook_id}} for webhook_id in dict.fromkeys(webhook_ids)]
        read = dynamo.batch_get(
            self._db, self._table, keys, attempts=BATCH_GET_ATTEMPTS, backoff_seconds=BATCH_GET_BACKOFF_SECONDS
        )
        records = (
            WebhookRecord.from_item(item) for item in read.items if item.get("itemType", {}).get("S") == ITEM_TYPE
        )
        found = {record.webhook_id: record for record in records}
        unavailable = {key["pk"]["S"] for key in read.unprocessed}
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

        When it finished is the attempt history's last entry (``attempt_log``, which the processor
        builds with ``now``; without one, an entry for ``now`` is appended). Records used to carry
        a ``finishedAt`` as well, which nothing read: its 37 bytes were what took PayPal's records
        over one write unit at this update (docs/PERFORMANCE.md, "Item sizes"). Older records keep
        theirs until :meth:`reopen` removes it.
        """
        assert status in FINAL_STATUSES
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":received": {"S": WebhookStatus.RECEIVED},
            ":one": {"N": "1"},
        }
        if attempt_log is not None:  # the whole bounded list, as the caller read it plus this attempt
            history = "attemptLog = :log"
            values[":log"] = attempt_log_value(attempt_log)
        else:
            history = "attemptLog = list_append(if_not_exists(attemptLog, :none), :entry)"
            values[":none"] = {"L": []}
            values[":entry"] = attempt_log_value([attempt_entry(now, status, reason)])
        update = f"SET #s = :status, {history} ADD attempts :one REMOVE lastError"
        if reason is not None:
            update = f"SET #s = :status, {history}, lastError = :reason ADD attempts :one"
            values[":reason"] = {"S": reason}
        return self._update_received(webhook_id, update, values)

    def count_failed_attempt(
        self, webhook_id: str, reason: str, attempt_log: Sequence[Mapping[str, str]] | None = None
    ) -> bool:
        """Count an attempt that failed (SQS will deliver the message again) and say why.

        False if the record is no longer ``received``.
        """
        update = "SET lastError = :reason ADD attempts :one"
        values: dict[str, Any] = {
            ":reason": {"S": reason}, ":one": {"N": "1"}, ":received": {"S": WebhookStatus.RECEIVED}
        }
        if attempt_log is not None:
            update = "SET lastError = :reason, attemptLog = :log ADD attempts :one"
            values[":log"] = attempt_log_value(attempt_log)
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

    def reopen(self, webhook_id: str, now: float | None = None) -> bool:
        """Put a final record back to ``received`` so that a replay processes it again.

        A MODIFY, which the outbox ignores: the caller (``ops replay``, ``ops redrive``) sends the
        message itself. The reopening is noted in the attempt history (appended: an operator's rare
        action; the processor's next write bounds it).
        """
        entry = attempt_entry(time.time() if now is None else now, "reopened")
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": webhook_id}},
                UpdateExpression=(
                    "SET #s = :received, "
                    "attemptLog = list_append(if_not_exists(attemptLog, :none), :reopened) REMOVE finishedAt"
                ),
                ConditionExpression="attribute_exists(pk) AND itemType = :type",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":received": {"S": WebhookStatus.RECEIVED},
                    ":type": {"S": ITEM_TYPE},
                    ":none": {"L": []},
                    ":reopened": attempt_log_value([entry]),
                },
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

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
        names = {f"#a{i}": name for i, name in enumerate(SUMMARY_ATTRIBUTES)}
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
