"""What the system produced: the PaymentEvents published and the alerts sent.

Locally, ``make run`` subscribes one queue to each SNS topic (:func:`subscribe_topics`) and a
thread drains both into ``.local/events.jsonl`` (:func:`drain_forever`), one JSON line each,
bounded; the console's ``/events`` page and ``ops tail`` read that file, so neither takes messages
from the other. A deployed stage has no such subscription (the console deploys nothing): there
``/events`` says so.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYMENT_EVENT = "payment-event"
ALERT = "alert"
KEEP_LINES = 2000
"""The file is cut back to this many lines when it grows to twice as many."""
RECEIVE_WAIT_SECONDS = 1


@dataclass(frozen=True)
class Produced:
    kind: str
    """``payment-event`` or ``alert``."""
    at: str
    """When the local drain received it (ISO 8601, UTC)."""
    document: dict[str, Any]

    @property
    def payment_key(self) -> str | None:
        value = self.document.get("paymentKey")
        return value if isinstance(value, str) else None

    @property
    def webhook_id(self) -> str | None:
        value = self.document.get("webhookId")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "document": self.document}


class EventLog:
    """The JSON-lines file of produced messages; safe for one writer and any number of readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._lines = 0

    def append(self, kind: str, document: dict[str, Any], at: str) -> None:
        line = json.dumps({"kind": kind, "at": at, "document": document}, separators=(",", ":")) + "\n"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
            self._lines += 1
            if self._lines >= 2 * KEEP_LINES:
                kept = self.path.read_text(encoding="utf-8").splitlines(keepends=True)[-KEEP_LINES:]
                temporary = self.path.with_suffix(".tmp")
                temporary.write_text("".join(kept), encoding="utf-8")
                temporary.replace(self.path)
                self._lines = len(kept)

    def read(self, limit: int | None = None) -> list[Produced]:
        """Oldest first; the last ``limit`` when given."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        produced = [entry for entry in (_parse(line) for line in lines) if entry is not None]
        return produced[-limit:] if limit else produced

    def end(self) -> int:
        """The offset after the last complete line now: where following from now starts."""
        return self.path.stat().st_size if self.path.exists() else 0

    def read_from(self, offset: int) -> tuple[list[Produced], int]:
        """The complete lines added after ``offset``, and the offset to read from next time (a
        file cut back meanwhile is read again from its beginning)."""
        size = self.end()
        if size < offset:
            offset = 0
        if size == offset:
            return [], offset
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        lines = complete.decode("utf-8", errors="replace").splitlines()
        return [entry for entry in (_parse(line) for line in lines) if entry is not None], offset + len(complete)


def _parse(line: str) -> Produced | None:
    try:
        entry = json.loads(line)
        return Produced(str(entry["kind"]), str(entry["at"]), dict(entry["document"]))
    except (ValueError, KeyError, TypeError):
        return None


def subscribe_topics(session: Any, prefix: str, topics: dict[str, str]) -> dict[str, str]:
    """One queue per topic (``{prefix}-console-<kind>``), subscribed with raw delivery; queue URLs
    by kind. Idempotent, like the rest of the local stack's resources."""
    sqs, sns = session.client("sqs"), session.client("sns")
    queues: dict[str, str] = {}
    for kind, topic_arn in topics.items():
        url = sqs.create_queue(QueueName=f"{prefix}-console-{kind}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queues[kind] = url
    return queues


def drain_once(sqs: Any, queues: dict[str, str], log: EventLog, wait_seconds: int = 0) -> int:
    """Move what the queues hold into the log; how many messages moved."""
    from chalicelib.timestamps import iso_timestamp

    moved = 0
    for kind, url in queues.items():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds).get(
            "Messages", []
        )
        for message in messages:
            try:
                document = json.loads(message["Body"])
            except ValueError:
                document = {"text": message["Body"][:500]}
            document = document if isinstance(document, dict) else {"value": document}
            log.append(kind, document, iso_timestamp(time.time()))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def drain_forever(sqs: Any, queues: dict[str, str], log: EventLog, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if not drain_once(sqs, queues, log, wait_seconds=RECEIVE_WAIT_SECONDS):
                stop.wait(0.2)
        except Exception:  # the emulator going away at shutdown: the runner reports that itself
            if stop.wait(1.0):
                return
