"""Compact JSON for everything we write: responses, queue messages, log lines.

One shared encoder: ``json.dumps`` with non-default arguments builds a new encoder on every call,
a measurable share of the route handler's time (`make bench`).
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def compact_json(value: Any) -> str:
    return _ENCODER.encode(value)
