"""``ops payment --rebuild``: re-derive a payment record from its webhooks, live or archived.

Where the webhooks come from, in this order (each webhook id counts once, the table's copy first):

1. the ids the stored record's history names (read from the table, else from the archive by id);
2. the table's webhook records of the payment's source whose payload mentions the payment id (a
   Scan with a ``contains`` filter: the history keeps only the last ``HISTORY_LIMIT`` entries);
3. with ``deep`` (or when the history is full, so older ids may have been dropped from it), every
   archived record of the source, read and kept when its payload mentions the payment id.

Each candidate is normalized with the processor's provider code and kept when its event belongs
to this payment (its key, one of the record's aliases, or an event naming the payment as related).
The kept events are folded, in the order they were received, by the same ``PaymentRecord.apply``
the processor uses, into a fresh record; the result is compared with the stored one. Nothing is
written unless the caller asks (:func:`write_rebuilt`), and then only if the stored record is still
the version that was compared (a conditional put; the processor may be writing meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.archive import WebhookArchive
from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.record import HISTORY_LIMIT, PaymentRecord
from chalicelib.providers import get_provider
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import ITEM_TYPE, WebhookRecord
from chalicelib.webhooks.store import WebhookStore

TABLE = "table"
ARCHIVE = "archive"


@dataclass
class Found:
    record: WebhookRecord
    where: str


@dataclass
class Rebuild:
    stored: PaymentRecord
    rebuilt: PaymentRecord
    webhooks: list[Found]
    """The webhooks folded in, in fold order."""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Candidates not folded, with why (another payment, not normalizable, outside the mapping)."""
    missing: list[str] = field(default_factory=list)
    """Webhook ids the history names that neither the table nor the archive has."""
    searched: dict[str, Any] = field(default_factory=dict)

    @property
    def differences(self) -> dict[str, dict[str, Any]]:
        """State fields (``PaymentState.to_json``) whose stored and rebuilt values differ."""
        stored, rebuilt = self.stored.state.to_json(), self.rebuilt.state.to_json()
        return {
            name: {"stored": stored.get(name), "rebuilt": rebuilt.get(name)}
            for name in sorted(set(stored) | set(rebuilt))
            if stored.get(name) != rebuilt.get(name)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "paymentKey": self.stored.key,
            "storedStatus": self.stored.status,
            "rebuiltStatus": self.rebuilt.status,
            "storedVersion": self.stored.version,
            "matches": not self.differences,
            "differences": self.differences,
            "webhooks": [
                {"webhookId": f.record.webhook_id, "from": f.where, "eventType": f.record.event_type,
                 "receivedAt": f.record.received_at}
                for f in self.webhooks
            ],
            "skipped": self.skipped,
            "missing": self.missing,
            "searched": self.searched,
        }


def _mentions(record: WebhookRecord, payment_id: str) -> bool:
    return payment_id in record.payload


def _table_search(db: Any, table: str, source: str, payment_id: str) -> Iterator[WebhookRecord]:
    """Webhook records of ``source`` whose payload contains ``payment_id`` (a Scan: operators only).

    A compressed payload (``payloadEncoding``, binary) cannot be searched by DynamoDB: those records
    are read and searched here, through the record's own decoding."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "itemType = :type AND #source = :source"
                            " AND (contains(payload, :id) OR attribute_exists(payloadEncoding))",
        "ExpressionAttributeNames": {"#source": "source"},
        "ExpressionAttributeValues": {":type": {"S": ITEM_TYPE}, ":source": {"S": source}, ":id": {"S": payment_id}},
    }
    while True:
        response = db.scan(**kwargs)
        for item in response.get("Items", []):
            record = WebhookRecord.from_item(item)
            if _mentions(record, payment_id):
                yield record
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _belongs(event: PaymentEvent, record: PaymentRecord) -> bool:
    keys = {record.key, *record.state.aliases}
    return event.payment_key in keys or bool(keys & set(event.related_record_keys))


def gather(
    stored: PaymentRecord,
    store: WebhookStore,
    db: Any,
    table: str,
    archive: WebhookArchive | None,
    deep: bool = False,
) -> tuple[list[Found], list[str], dict[str, Any]]:
    """The candidate webhooks of ``stored`` (see the module's docstring), the history's ids that
    were found nowhere, and what was searched."""
    found: dict[str, Found] = {}
    missing: list[str] = []
    history_ids = [str(e["webhookId"]) for e in stored.history if e.get("webhookId")]
    for webhook_id in dict.fromkeys(history_ids):
        live = store.get(webhook_id)
        if live is not None:
            found[webhook_id] = Found(live, TABLE)
            continue
        archived = archive.get(webhook_id) if archive is not None else None
        if archived is not None:
            found[webhook_id] = Found(archived.record, ARCHIVE)
        else:
            missing.append(webhook_id)
    table_hits = 0
    for record in _table_search(db, table, stored.source, stored.payment_id):
        table_hits += 1
        found.setdefault(record.webhook_id, Found(record, TABLE))
    archive_listed = 0
    history_full = len(stored.history) >= HISTORY_LIMIT
    listed = archive is not None and (deep or history_full)
    if archive is not None and listed:
        for key in archive.keys(stored.source):
            archive_listed += 1
            webhook_id = key.rsplit("/", 1)[-1].removesuffix(".json")
            if webhook_id in found:
                continue
            archived = archive.read(key)
            if archived is not None and _mentions(archived.record, stored.payment_id):
                found[webhook_id] = Found(archived.record, ARCHIVE)
    missing = [webhook_id for webhook_id in missing if webhook_id not in found]
    searched = {
        "historyIds": len(set(history_ids)),
        "historyFull": history_full,
        "tableMatches": table_hits,
        "archiveListed": archive_listed if listed else None,
        "archiveBucket": archive.bucket if archive is not None else None,
    }
    return list(found.values()), missing, searched


def rebuild(
    stored: PaymentRecord, candidates: Iterable[Found], now: float, options: Mapping[str, Any] | None = None
) -> Rebuild:
    """Fold the candidates that belong to ``stored`` into a fresh record, as the processor would:
    with ``options``, the options of the payment's source (Adyen ``autoCapture``)."""
    at = iso_timestamp(now)
    rebuilt = PaymentRecord.new(stored.key, stored.provider)
    used: list[Found] = []
    skipped: list[dict[str, str]] = []
    ordered = sorted(candidates, key=lambda f: (f.record.received_at, f.record.webhook_id))
    for candidate in ordered:
        webhook = candidate.record
        try:
            event = get_provider(webhook.provider).normalize(webhook, options)
        except Exception as exc:  # the processor would fail (and dead-letter) this one
            skipped.append({"webhookId": webhook.webhook_id, "reason": f"does not normalize: {type(exc).__name__}"})
            continue
        if event is None:
            skipped.append({"webhookId": webhook.webhook_id, "reason": "outside the mapping (ignored)"})
            continue
        if webhook.source != stored.source or not _belongs(event, stored):
            skipped.append({"webhookId": webhook.webhook_id, "reason": f"another payment ({event.payment_key})"})
            continue
        applied = rebuilt.apply(event.keyed_as(stored.key), at)
        if applied is None:
            skipped.append({"webhookId": webhook.webhook_id, "reason": "event already applied"})
            continue
        rebuilt = applied
        used.append(candidate)
    return Rebuild(stored=stored, rebuilt=rebuilt, webhooks=used, skipped=skipped)


def write_rebuilt(db: Any, table: str, result: Rebuild, now: float) -> PaymentRecord:
    """Replace the stored record with the rebuilt one, if it is still the version compared.

    The written record keeps the stored creation time and takes the next version, so that the
    processor's own optimistic writes see the change. Raises the conditional failure otherwise.
    """
    record = replace(
        result.rebuilt,
        version=result.stored.version + 1,
        created_at=result.stored.created_at or result.rebuilt.created_at,
        updated_at=iso_timestamp(now),
    )
    db.put_item(
        TableName=table,
        Item=record.to_item(),
        ConditionExpression="version = :seen",
        ExpressionAttributeValues={":seen": {"N": str(result.stored.version)}},
    )
    return record
