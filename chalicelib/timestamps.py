"""The one timestamp format of records and log lines: UTC ISO 8601 with milliseconds."""

from __future__ import annotations

import time


def iso_timestamp(unix_seconds: float) -> str:
    """``2024-02-15T12:00:00.123Z``: sorts as text, reads as a date (and is cheap to make)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_seconds))
    return f"{seconds}.{int(unix_seconds % 1 * 1000):03d}Z"
