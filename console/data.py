"""What the console's pages read and do, over one stage (``ops.stage.StageTarget``).

Every action reuses the ``ops`` code behind ``replay`` and ``redrive`` (``ops.records``), so the
console and the CLI cannot disagree about what an action does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from chalicelib.providers import get_provider
from chalicelib.webhooks.record import FINAL_STATUSES, WebhookRecord, WebhookStatus
from console.events import EventLog, Produced
from ops import records
from ops.stage import StageTarget

RECENT_LIMIT = 100
DEAD_LETTER_PEEK_LIMIT = 50


class TrailStep(NamedTuple):
    at: str
    status: str
    note: str


def status_trail(record: WebhookRecord) -> list[TrailStep]:
    """The record's status changes, from its arrival through every attempt in its history."""
    steps = [TrailStep(record.received_at, WebhookStatus.RECEIVED, "received and queued")]
    status: str = WebhookStatus.RECEIVED
    for entry in record.attempt_log:
        outcome = entry.get("outcome", "")
        if outcome in FINAL_STATUSES:
            status = outcome
        elif outcome == "reopened":
            status = WebhookStatus.RECEIVED
        note = outcome + (f": {entry['error']}" if entry.get("error") else "")
        steps.append(TrailStep(entry.get("at", ""), status, note))
    return steps


def payment_key_of(record: WebhookRecord) -> str | None:
    """The payment the webhook changes, found as the processor finds it (the provider's own
    normalization, a pure function); None when it is outside the mapping or unreadable."""
    try:
        event = get_provider(record.provider).normalize(record)
    except Exception:  # an unknown provider or a payload the mapping cannot read: no link
        return None
    return event.payment_key if event is not None else None


@dataclass
class Console:
    target: StageTarget
    events: EventLog | None
    """The local stack's produced messages; None for a deployed stage (nothing subscribes there)."""

    @property
    def stage(self) -> str:
        return self.target.stage

    def recent(
        self, source: str | None = None, status: str | None = None, event_type: str | None = None,
        since: str | None = None, limit: int = RECENT_LIMIT,
    ) -> list[WebhookRecord]:
        found = records.find(self.target.store(), records.Filters(source=source, status=status, since=since))
        if event_type:
            found = [record for record in found if event_type.lower() in record.event_type.lower()]
        return found[:limit]

    def webhook(self, webhook_id: str) -> WebhookRecord | None:
        return self.target.store().get(webhook_id)

    def payment(self, payment_key: str) -> dict[str, Any] | None:
        return self.target.payments().get(payment_key)

    def failed(self) -> list[WebhookRecord]:
        return records.find(self.target.store(), records.Filters(status=WebhookStatus.FAILED))

    def dead_letters(self) -> list[records.DeadLetter]:
        """The DLQ's messages, looked at and left in place (redrive's own dry run)."""
        sqs = self.target.client("sqs")
        return records.redrive(sqs, self.target.store(), self.target.dead_letter_queue_url(),
                               self.target.processing_queue_url(), dry_run=True, limit=DEAD_LETTER_PEEK_LIMIT)

    def chosen(self, webhook_ids: list[str]) -> tuple[list[WebhookRecord], list[str]]:
        """The records of ``webhook_ids`` that exist, and the ids that do not."""
        store = self.target.store()
        found: list[WebhookRecord] = []
        missing: list[str] = []
        for webhook_id in dict.fromkeys(webhook_ids):
            record = store.get(webhook_id)
            (found.append(record) if record is not None else missing.append(webhook_id))
        return found, missing

    def replay(self, chosen: list[WebhookRecord]) -> records.ReplayResult:
        return records.replay(self.target.store(), self.target.queue(), chosen)

    def redrive(self, limit: int | None) -> list[records.DeadLetter]:
        sqs = self.target.client("sqs")
        return records.redrive(sqs, self.target.store(), self.target.dead_letter_queue_url(),
                               self.target.processing_queue_url(), limit=limit)

    def produced(self, limit: int = 200) -> list[Produced]:
        """Newest first."""
        return list(reversed(self.events.read(limit))) if self.events is not None else []

    def produced_for_payment(self, payment_key: str, aliases: list[str]) -> list[Produced]:
        keys = {payment_key, *aliases}
        return [entry for entry in self.produced(KEEP_FOR_PAYMENT) if entry.payment_key in keys]


KEEP_FOR_PAYMENT = 2000
