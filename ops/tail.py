"""``ops tail``: what happens, as it happens, one short line each.

Every ``interval`` the records are read again (a Scan without payloads: an operator's tool, as
``ops list``) and compared with what was seen: a new webhook, a status change, a failed attempt
(with its safe reason) each make one line. What the stack produced (PaymentEvents, alerts) comes
from the local stack's ``events.jsonl`` (``console.events``); a deployed stage has no such feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from chalicelib.webhooks.store import WebhookStore
from console.events import ALERT, EventLog, Produced

COLOURS = {WebhookStatus.PROCESSED: "green", WebhookStatus.FAILED: "red", WebhookStatus.RECEIVED: "yellow",
           WebhookStatus.IGNORED: "bright_black", ALERT: "red",
           "payment-event": "cyan", "retrying": "magenta"}


@dataclass(frozen=True)
class Line:
    """One thing that happened: ``kind`` is webhook, status, attempt, payment-event or alert."""

    kind: str
    at: str
    fields: dict[str, Any]
    text: str
    colour_key: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "at": self.at, **self.fields}


def _last_attempt_time(record: WebhookRecord) -> str:
    return record.attempt_log[-1]["at"] if record.attempt_log else record.received_at


def _short(webhook_id: str) -> str:
    return webhook_id[:15]


@dataclass
class Follower:
    store: WebhookStore
    events: EventLog | None
    source: str | None = None
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    offset: int = 0

    def start(self) -> None:
        """What exists now is the baseline: only what changes from here on is told."""
        self.seen = {record.webhook_id: (record.status, record.attempts) for record in self._records()}
        self.offset = self.events.end() if self.events is not None else 0

    def _records(self) -> Iterator[WebhookRecord]:
        return self.store.scan_records(source=self.source)

    def poll(self) -> list[Line]:
        lines: list[Line] = []
        for record in sorted(self._records(), key=lambda r: (r.received_at, r.webhook_id)):
            lines.extend(self._changes(record))
        if self.events is not None:
            produced, self.offset = self.events.read_from(self.offset)
            lines.extend(self._produced(entry) for entry in produced if self._wanted(entry))
        return lines

    def _wanted(self, entry: Produced) -> bool:
        if self.source is None:
            return True
        return entry.document.get("source") in (None, self.source) or entry.document.get("provider") == self.source

    def _changes(self, record: WebhookRecord) -> list[Line]:
        before = self.seen.get(record.webhook_id)
        self.seen[record.webhook_id] = (record.status, record.attempts)
        base = {"webhookId": record.webhook_id, "source": record.source, "eventType": record.event_type}
        head = f"{record.source:<10} {record.event_type:<32} {_short(record.webhook_id)}"
        lines: list[Line] = []
        if before is None:
            lines.append(Line("webhook", record.received_at, {**base, "status": WebhookStatus.RECEIVED},
                              f"{head} received", WebhookStatus.RECEIVED))
            before = (WebhookStatus.RECEIVED, 0)
        status, attempts = before
        if record.attempts > attempts and record.status == WebhookStatus.RECEIVED and record.last_error:
            lines.append(Line("attempt", _last_attempt_time(record),
                              {**base, "attempt": record.attempts, "error": record.last_error},
                              f"{head} attempt {record.attempts} failed: {record.last_error}", "retrying"))
        if record.status != status:
            detail = f" after {record.attempts} attempt(s)" if record.is_final else " (reopened)"
            if record.status == WebhookStatus.FAILED and record.last_error:
                detail += f": {record.last_error}"
            lines.append(Line("status", _last_attempt_time(record),
                              {**base, "status": record.status, "attempts": record.attempts,
                               "error": record.last_error if record.status == WebhookStatus.FAILED else None},
                              f"{head} {record.status}{detail}", record.status))
        return lines

    def _produced(self, entry: Produced) -> Line:
        document = entry.document
        if entry.kind == ALERT:
            text = (f"{'alert':<10} {document.get('alert', '')} {document.get('webhookId', '')} "
                    f"{document.get('lastError') or ''}")
        else:
            amount = ""
            if document.get("amount") is not None:
                amount = f" {document['amount']} {document.get('currency', '')}"
            text = (f"{'event':<10} {document.get('kind', '')} {document.get('status', '')} "
                    f"{document.get('paymentKey', '')}{amount}")
        return Line(entry.kind, entry.at, {"document": document}, text.rstrip(), entry.kind)


def render(line: Line, as_json: bool, style: Callable[[str, str], str]) -> str:
    import json

    if as_json:
        return json.dumps(line.to_json(), separators=(",", ":"))
    return f"{line.at} {style(line.text, COLOURS.get(line.colour_key, 'white'))}"
