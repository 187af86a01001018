"""The runner's console: the app's JSON log lines, one short readable line per webhook outcome.

In AWS the app's JSON lines (``chalicelib.log``) go to CloudWatch, where they are queried. In a
terminal, by default, only what happened to each webhook is shown, one short line each
(``2026-01-02T03:04:05.678Z INFO  webhook received  source=stripe outcome=accepted webhookIds=wh_1``):
the receiver's answer, the processor's outcome, and every warning and error with all its fields.
The details are on demand: ``-v`` (``make run V=1``, or ``LOG_VERBOSE=1``) shows every line with all
its fields, audit lines included; ``LOG_FORMAT=json`` keeps the raw lines. The app logs to whatever
``sys.stdout`` is at the time (``chalicelib.log``), so the runner installs this writer there.
Fields that say nothing to a person at a terminal (request and trace ids) are dropped.
"""

from __future__ import annotations

import json
import threading
from typing import Any, TextIO

HIDDEN_FIELDS = frozenset(
    # The invocation's ids (chalicelib.log.invocation) are for correlating lines in CloudWatch.
    {"level", "message", "timestamp", "requestId", "coldStart", "xrayTraceId"}
)
AUDIT_HIDDEN = frozenset(
    {"audit", "change", "webhookId", "oldStatus", "newStatus", "at", "sequenceNumber", "provider", "eventId"}
)


# The lines that say what happened to a webhook, with the fields worth a glance (the rest: -v).
OUTCOMES: dict[str, tuple[str, ...]] = {
    "webhook received": ("source", "outcome", "webhookIds"),
    "webhook processed": ("webhookId", "source", "eventType", "outcome", "paymentStatus"),
    "webhook already finished by another attempt": ("webhookId", "outcome"),
}
SHOWN_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_value(item) for item in value)
    if isinstance(value, (dict, bool)) or value is None:
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(line: str, verbose: bool = False) -> str | None:
    """One log line for a person (None: not worth a line); anything else passes through unchanged.

    By default only webhook outcomes (:data:`OUTCOMES`, with their key fields) and warnings and
    errors (with every field) are shown. ``verbose`` shows every line with every field, but still
    leaves out audit lines that change no status (processing counting an attempt).
    """
    stripped = line.strip()
    if not stripped.startswith("{"):
        return line
    try:
        record = json.loads(stripped)
    except ValueError:
        return line
    if not isinstance(record, dict) or "message" not in record:
        return line
    level = str(record.get("level", "")).upper()
    message = str(record["message"])
    timestamp = str(record.get("timestamp") or "")  # ISO 8601 (chalicelib.timestamps), as everywhere
    if not verbose and level not in SHOWN_LEVELS:
        if message not in OUTCOMES:
            return None
        fields = " ".join(f"{key}={_value(record[key])}" for key in OUTCOMES[message] if record.get(key) is not None)
        return f"{timestamp} {level:<5} {message}" + (f"  {fields}" if fields else "")
    if message == "audit" and "change" in record:
        old, new = record.get("oldStatus") or "-", record.get("newStatus") or "-"
        if record["change"] == "MODIFY" and old == new:
            return None
        message = f"audit {record['change']} {record.get('webhookId', '')} {old} -> {new}"
        hidden = HIDDEN_FIELDS | AUDIT_HIDDEN
    else:
        hidden = HIDDEN_FIELDS
    fields = " ".join(f"{key}={_value(value)}" for key, value in record.items() if key not in hidden)
    return f"{timestamp} {level:<5} {message}" + (f"  {fields}" if fields else "")


class ReadableStream:
    """A text stream that renders each complete line with :func:`render` (thread-safe)."""

    def __init__(self, target: TextIO, raw: bool = False, verbose: bool = False) -> None:
        self._target = target
        self._raw = raw
        self._verbose = verbose
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                shown = line if self._raw else render(line, self._verbose)
                if shown is not None:
                    self._target.write(shown + "\n")
            self._target.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", "utf-8")
