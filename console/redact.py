"""What the console must never show: signature headers, and the signatures some providers put in
the body (Adyen's ``hmacSignature``). Records only store safe headers (``chalicelib.store
.safe_headers``); the console filters again, so an older or hand-written record cannot leak either."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from chalicelib.providers import PROVIDER_NAMES, get_provider
from chalicelib.webhooks.record import safe_headers

REDACTED = "[redacted]"
_SECRET_KEY_WORDS = ("signature", "secret", "hmac", "password", "token")


@cache
def signature_headers() -> tuple[str, ...]:
    """Every registered provider's signature header names (lower case)."""
    return tuple(sorted({h.lower() for name in PROVIDER_NAMES for h in get_provider(name).signature_headers}))


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return safe_headers(headers, signature_headers())


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if any(word in str(key).lower() for word in _SECRET_KEY_WORDS) else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def pretty_body(payload: str) -> str:
    """The stored body, indented, with every signature-like field replaced; text that is not JSON
    is not shown at all (it cannot be checked for signatures)."""
    try:
        document = json.loads(payload)
    except ValueError:
        return "(not JSON: not shown)"
    return json.dumps(_redact(document), indent=2, sort_keys=False, ensure_ascii=False)
