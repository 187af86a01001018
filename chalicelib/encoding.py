"""Compact JSON for everything we write: responses, queue messages, log lines.

One encoder instance, made once with our options: ``json.dumps`` with non-default arguments
would build a new ``JSONEncoder`` on every call. Anything not JSON-native (a ``Decimal`` read back
from DynamoDB, say) is written as its ``str``.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def compact_json(value: Any) -> str:
    """``value`` as JSON with no whitespace, ASCII only (what every reader accepts)."""
    return _ENCODER.encode(value)
