"""The webhook archive: every webhook record, as stored, copied to S3 before DynamoDB's TTL removes it.

Webhook records expire (``RETENTION_DAYS``) while payment records never do; without the archive a
payment could no longer be re-derived from, or audited against, the deliveries that made it. The
table stream hands the audit every TTL removal with the item's old image, and the audit writes it
here (:func:`archive_removal`) before it logs the line: a failed write fails the stream record, so
the stream retries it (it is the only copy left).

Layout, under the bucket in ``ARCHIVE_BUCKET_NAME``:

- ``webhooks/<source>/<yyyy>/<mm>/<dd>/<webhookId>.json``: the record's JSON (:func:`record_document`,
  the payload exactly as stored), by the day it was received: what the lifecycle rule moves to a
  cold storage class, and what ``ops payment --rebuild --deep`` lists per source;
- ``webhook-ids/<webhookId>``: a pointer whose body is the key above, so that ``ops show`` finds a
  record by its id alone (the id does not say its source or day). A few dozen bytes, kept in the
  standard class (cold classes bill at least 128 KB per object).

Both writes are plain overwrites of deterministic keys: a retried stream record writes the same
bytes again, and the bucket's versioning keeps any earlier version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.webhooks.record import ITEM_TYPE, WebhookRecord

RECORD_PREFIX = "webhooks/"
POINTER_PREFIX = "webhook-ids/"
CONTENT_TYPE = "application/json"
ARCHIVE_FORMAT = 1
"""Bumped if the document's shape ever changes; readers accept every version they know."""


class ArchiveError(Exception):
    """An archived object that is not an archived webhook record."""


def record_key(record: WebhookRecord) -> str:
    """``webhooks/<source>/<yyyy>/<mm>/<dd>/<webhookId>.json`` (the day of ``receivedAt``, UTC)."""
    parts = record.received_at[:10].split("-")  # ISO 8601 (chalicelib.timestamps): yyyy-mm-dd first
    day = "/".join(parts) if len(parts) == 3 and all(part.isdigit() for part in parts) else "undated"
    return f"{RECORD_PREFIX}{record.source or 'unknown'}/{day}/{record.webhook_id}.json"


def pointer_key(webhook_id: str) -> str:
    return f"{POINTER_PREFIX}{webhook_id}"


def source_prefix(source: str) -> str:
    return f"{RECORD_PREFIX}{source}/"


def record_document(record: WebhookRecord, archived_at: str) -> dict[str, Any]:
    """The archived JSON: the operator's view of the record plus its payload, as stored."""
    return {
        "archiveFormat": ARCHIVE_FORMAT,
        "archivedAt": archived_at,
        "record": {**record.to_json(), "payload": record.payload},
    }


def record_from_document(document: Any) -> WebhookRecord:
    """The record an archived document holds (the inverse of :func:`record_document`)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("record"), Mapping):
        raise ArchiveError("not an archived webhook record")
    data = document["record"]
    try:
        return WebhookRecord(
            webhook_id=str(data["webhookId"]),
            source=str(data["source"]),
            provider=str(data["provider"]),
            event_id=str(data["eventId"]),
            event_type=str(data["eventType"]),
            payload=str(data["payload"]),
            received_at=str(data["receivedAt"]),
            status=str(data["status"]),
            attempts=int(data.get("attempts") or 0),
            last_error=data.get("lastError"),
            expires_at=int(data.get("expiresAt") or 0),
            payload_sha256=str(data.get("payloadSha256") or ""),
            conflicting_deliveries=int(data.get("conflictingDeliveries") or 0),
            headers=dict(data.get("headers") or {}),
            answer=data.get("answer"),
            attempt_log=tuple(dict(entry) for entry in data.get("attemptLog") or ()),
            origin=str(data.get("origin") or "delivery"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError("not an archived webhook record") from exc


@dataclass(frozen=True)
class ArchivedRecord:
    record: WebhookRecord
    key: str
    archived_at: str


class WebhookArchive:
    """Writes and reads archived webhook records in one bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def put(self, record: WebhookRecord, archived_at: str) -> str:
        """Archive ``record`` (the record first, then its pointer); returns the record's key.

        Encryption is the bucket's default (SSE-KMS with the stage's key): naming the key here
        would have to repeat it, and a default cannot be forgotten by a caller.
        """
        key = record_key(record)
        body = json.dumps(record_document(record, archived_at), separators=(",", ":"), sort_keys=True)
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode("utf-8", "surrogatepass"),
                            ContentType=CONTENT_TYPE)
        self._s3.put_object(Bucket=self.bucket, Key=pointer_key(record.webhook_id), Body=key.encode(),
                            ContentType="text/plain")
        return key

    def get(self, webhook_id: str) -> ArchivedRecord | None:
        """The archived record of ``webhook_id``, or None if it was never archived."""
        pointer = self._read(pointer_key(webhook_id))
        if pointer is None:
            return None
        return self.read(pointer.decode())

    def read(self, key: str) -> ArchivedRecord | None:
        body = self._read(key)
        if body is None:
            return None
        try:
            document = json.loads(body.decode("utf-8", "surrogatepass"))
        except ValueError as exc:
            raise ArchiveError(f"{key} is not JSON") from exc
        return ArchivedRecord(record_from_document(document), key, str(document.get("archivedAt", "")))

    def keys(self, source: str) -> Iterator[str]:
        """Every archived record key of ``source`` (a listing of its whole prefix: operators only)."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=source_prefix(source)):
            for entry in page.get("Contents", []):
                yield str(entry["Key"])

    def _read(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return None
            raise
        body: bytes = response["Body"].read()
        return body


def removed_webhook(old_image: Mapping[str, Any] | None) -> WebhookRecord | None:
    """The webhook record a stream REMOVE carried in its old image (None for any other item:
    dedupe and transmission markers, payment records, cursors are not archived)."""
    if not isinstance(old_image, Mapping):
        return None
    item_type = old_image.get("itemType")
    if not isinstance(item_type, Mapping) or item_type.get("S") != ITEM_TYPE:
        return None
    return WebhookRecord.from_item(dict(old_image))
