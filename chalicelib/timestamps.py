"""The one timestamp format of records and log lines: UTC ISO 8601 with milliseconds."""

from __future__ import annotations

import time


def iso_timestamp(unix_seconds: float) -> str:
    """``2024-02-15T12:00:00.123Z``: sorts as text and reads as a date.

    No cache: formatting costs about 2 µs, nothing next to the milliseconds a request waits for AWS.
    """
    whole = int(unix_seconds // 1)
    millisecond = int(unix_seconds % 1 * 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole))}.{millisecond:03d}Z"
