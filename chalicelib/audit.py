"""Step 9: one structured audit line per change of a webhook record, and alerts a human must see.

Payment records share the table: a payment whose status changes (or that is created, removed,
or folded into another record under an alias) gets one ``"audit": "payment"`` line too, so the
log tells the story of every payment; a payment record removed by anyone alerts as well.

Alerts go out for a record removed by anyone but DynamoDB's TTL (expiry is the retention policy
working, and is audited without an alert) and for a record that became ``failed``. Before a webhook record that
DynamoDB's TTL removed is audited, it is archived (chalicelib/archive.py): a failed archive write
fails the stream record like any other failure here, so the stream retries it. Records are
read defensively: a record this code cannot make sense of is reported as a batch item failure, so
the stream's bisect and on-failure destination isolate it instead of blocking the shard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib import log
from chalicelib.archive import WebhookArchive, removed_webhook
from chalicelib.batch import partial_batch, stream_sequence_number
from chalicelib.encoding import compact_json
from chalicelib.payments.keys import ALIAS_ITEM_TYPE, PAYMENT_ITEM_TYPE
from chalicelib.webhooks.record import ITEM_TYPE, WEBHOOK_ID_PREFIX, WebhookStatus

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
CHANGES = frozenset({"INSERT", "MODIFY", "REMOVE"})
AUDITED_FIELDS = ("source", "provider", "eventType", "eventId", "lastError")
AUDITED_PAYMENT_FIELDS = ("provider", "amount", "currency", "refundedAmount", "version")


class OddRecord(Exception):
    """A stream record that does not have the shape of a DynamoDB Streams record."""


@dataclass(frozen=True)
class AuditContext:
    sns: Any
    alerts_topic_arn: str
    archive: WebhookArchive | None = None
    """Where TTL-removed webhook records go; None only where no archive is configured."""


def _image(change: Mapping[str, Any], name: str) -> dict[str, str]:
    """The string and number attributes of an image, as plain text (all the audit needs)."""
    raw = change.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise OddRecord(name)
    plain: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            text = value.get("S", value.get("N"))
            if isinstance(text, str):
                plain[key] = text
    return plain


def _change_time(change: Mapping[str, Any]) -> str:
    epoch = change.get("ApproximateCreationDateTime")
    if isinstance(epoch, (int, float)) and not isinstance(epoch, bool):
        return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")
    return ""


def is_ttl_expiry(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity")
    return (
        isinstance(identity, Mapping)
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def payment_audit_entry(
    change_name: str, change: Mapping[str, Any], old: dict[str, str], new: dict[str, str]
) -> dict[str, Any] | None:
    """The line for a payment record: only when its status changes (or it appears or goes)."""
    still_a_payment = new.get("itemType") == PAYMENT_ITEM_TYPE
    if change_name == "MODIFY" and still_a_payment and old.get("status") == new.get("status"):
        return None  # a fact that changed nothing visible (amounts are in the record's history)
    current = new if still_a_payment else old
    entry: dict[str, Any] = {
        "audit": "payment",
        "change": change_name,
        "paymentKey": current.get("paymentKey", ""),
        "oldStatus": old.get("status"),
        "newStatus": new.get("status"),
        "at": _change_time(change),
        "sequenceNumber": change.get("SequenceNumber"),
    }
    entry.update({name: current[name] for name in AUDITED_PAYMENT_FIELDS if name in current})
    if new.get("itemType") == ALIAS_ITEM_TYPE:
        entry["mergedInto"] = new.get("aliasOf")
    return entry


def audit_entry(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The audit line for one stream record, or None for items that need none (aliases, and
    payment changes that leave the status as it was)."""
    change_name = record.get("eventName")
    change = record.get("dynamodb")
    if change_name not in CHANGES or not isinstance(change, Mapping):
        raise OddRecord("not a DynamoDB Streams record")
    old, new = _image(change, "OldImage"), _image(change, "NewImage")
    keys = _image(change, "Keys")
    current = new or old
    if PAYMENT_ITEM_TYPE in (old.get("itemType"), new.get("itemType")):
        payment_entry = payment_audit_entry(str(change_name), change, old, new)
        if payment_entry is not None and change_name == "REMOVE":
            payment_entry["removedBy"] = "ttl" if is_ttl_expiry(record) else "principal"
        return payment_entry
    if current.get("itemType") != ITEM_TYPE:
        return None
    entry: dict[str, Any] = {
        "audit": "webhook",
        "change": change_name,
        "webhookId": keys.get("pk") or current.get("pk", ""),
        "oldStatus": old.get("status"),
        "newStatus": new.get("status"),
        "at": _change_time(change),
        "sequenceNumber": change.get("SequenceNumber"),
    }
    entry.update({field: current[field] for field in AUDITED_FIELDS if field in current})
    if change_name == "REMOVE":
        entry["removedBy"] = "ttl" if is_ttl_expiry(record) else "principal"
    return entry


def alert_reason(entry: Mapping[str, Any]) -> str | None:
    if entry["change"] == "REMOVE" and entry.get("removedBy") != "ttl":
        if entry["audit"] == "payment":
            return "A payment record was removed"
        return "A webhook record was removed"
    if entry["audit"] == "payment":
        return None
    if entry["newStatus"] == WebhookStatus.FAILED and entry["oldStatus"] != WebhookStatus.FAILED:
        return "A webhook failed processing and was dead-lettered"
    return None


def send_alert(context: AuditContext, reason: str, entry: Mapping[str, Any]) -> None:
    context.sns.publish(
        TopicArn=context.alerts_topic_arn,
        Subject=f"payment-webhooks: {reason}"[:100],
        Message=compact_json({"alert": reason, **entry}),
        MessageAttributes={"alert": {"DataType": "String", "StringValue": reason}},
    )


def archive_removal(record: Mapping[str, Any], context: AuditContext) -> str | None:
    """Archive the webhook record a TTL removal carries; the archived key, or None if the change
    is not one. Only the TTL's removals: a record someone deleted is alerted instead (and is in
    the table's point-in-time backups), and every record the TTL removes passes through here."""
    if context.archive is None or record.get("eventName") != "REMOVE" or not is_ttl_expiry(record):
        return None
    change = record.get("dynamodb")
    if not isinstance(change, Mapping):
        raise OddRecord("not a DynamoDB Streams record")
    webhook = removed_webhook(change.get("OldImage"))
    if webhook is None:
        keys = _image(change, "Keys")
        if "OldImage" not in change and keys.get("pk", "").startswith(WEBHOOK_ID_PREFIX):
            # A webhook's removal without its image (a stream view without old images): it cannot
            # be archived, and must not pass as done. Failing it sends it to the audit-failures queue.
            raise OddRecord("a webhook record's TTL removal without its old image")
        return None
    archived_at = _change_time(change) or datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")
    return context.archive.put(webhook, archived_at)


def audit_record(record: Mapping[str, Any], context: AuditContext) -> None:
    archived = archive_removal(record, context)  # first: if it fails, nothing is logged as done
    entry = audit_entry(record)
    if entry is not None and archived is not None:
        entry["archivedAs"] = archived
    if entry is None:
        return
    log.change("audit", **entry)
    reason = alert_reason(entry)
    if reason is not None:
        send_alert(context, reason, entry)


def audit_batch(event: Mapping[str, Any], context: AuditContext) -> dict[str, Any]:
    return partial_batch(
        event.get("Records") or [],
        lambda record: audit_record(record, context),
        stream_sequence_number,
        stop_at_first_failure=True,
    )
