"""The runner's console: the app's JSON log lines, one short readable line each.

In AWS the app's JSON lines (``chalicelib.log``) go to CloudWatch, where they are queried. In a terminal the
same line is easier to read as ``12:00:01 INFO  webhook received source=stripe outcome=accepted``.
The app logs to whatever ``sys.stdout`` is at the time (``chalicelib.log``), so the runner installs
this writer there; ``LOG_FORMAT=json`` keeps the raw lines. Nothing is added, only fields that say
nothing to a person at a terminal (service name, request and trace ids) are dropped.
"""

from __future__ import annotations

import json
import threading
from typing import Any, TextIO

HIDDEN_FIELDS = frozenset(
    # The invocation's ids (chalicelib.log.invocation) are for correlating lines in CloudWatch.
    {"level", "message", "timestamp", "service", "requestId", "coldStart", "xrayTraceId"}
)
AUDIT_HIDDEN = frozenset(
    {"audit", "change", "webhookId", "oldStatus", "newStatus", "at", "sequenceNumber", "provider", "eventId"}
)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_value(item) for item in value)
    if isinstance(value, (dict, bool)) or value is None:
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _clock(timestamp: Any) -> str:
    # "2026-11-29T09:40:00.123Z" (chalicelib.timestamps): the time of day is what a person reads.
    text = str(timestamp or "")
    return text[11:19] if len(text) >= 19 else text


def render(line: str) -> str | None:
    """One log line for a person (None: not worth a line); anything else passes through unchanged.

    Audit lines that change no status (processing counting an attempt) are left out: the console
    shows what happened to each webhook, ``LOG_FORMAT=json`` shows every line.
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
    if message == "audit" and "change" in record:
        old, new = record.get("oldStatus") or "-", record.get("newStatus") or "-"
        if record["change"] == "MODIFY" and old == new:
            return None
        message = f"audit {record['change']} {record.get('webhookId', '')} {old} -> {new}"
        hidden = HIDDEN_FIELDS | AUDIT_HIDDEN
    else:
        hidden = HIDDEN_FIELDS
    fields = " ".join(f"{key}={_value(value)}" for key, value in record.items() if key not in hidden)
    return f"{_clock(record.get('timestamp'))} {level:<5} {message}" + (f"  {fields}" if fields else "")


class ReadableStream:
    """A text stream that renders each complete line with :func:`render` (thread-safe)."""

    def __init__(self, target: TextIO, raw: bool = False) -> None:
        self._target = target
        self._raw = raw
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                shown = line if self._raw else render(line)
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
