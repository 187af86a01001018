"""Small, strict readers the provider normalizers share.

A stored payload has been verified, so it is the provider's; but a provider's shape can still
surprise us (an API version change, a field that is null). Each reader either returns what it
promised or raises :class:`~chalicelib.errors.ProcessingError` naming the *field*, never its
value, so the reason is safe to store and show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import ProcessingError


def load_object(payload: str) -> dict[str, Any]:
    """The stored payload as a JSON object (it parsed at receive time; this is a guard)."""
    try:
        document = json.loads(payload)
    except (TypeError, ValueError, RecursionError):
        raise ProcessingError("the stored payload is not JSON") from None
    if not isinstance(document, dict):
        raise ProcessingError("the stored payload is not a JSON object")
    return document


def dig(document: Any, *path: str) -> Any:
    """``document[a][b]...`` or None when any step is missing or not an object."""
    current = document
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def optional_text(document: Any, *path: str) -> str | None:
    value = dig(document, *path)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProcessingError(f"{'.'.join(path)} is not a string")
    return value


def text(document: Any, *path: str) -> str:
    value = optional_text(document, *path)
    if value is None:
        raise ProcessingError(f"{'.'.join(path)} is missing")
    return value


def obj(document: Any, *path: str) -> dict[str, Any]:
    value = dig(document, *path)
    if not isinstance(value, dict):
        raise ProcessingError(f"{'.'.join(path)} is missing or not an object")
    return value


def id_or_expanded(document: Any, *path: str) -> str | None:
    """A reference that is an id, or an expanded object carrying ``id`` (Stripe's expand)."""
    value = dig(document, *path)
    if isinstance(value, Mapping):
        value = value.get("id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProcessingError(f"{'.'.join(path)} is not an id")
    return value


def canonical_time(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds, like the webhook records' times: sorts as text."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def rfc3339_time(value: object, field: str) -> str:
    """An RFC 3339 / ISO 8601 provider time in canonical form; a time without offset is UTC."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ProcessingError(f"{field} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProcessingError(f"{field} is not a timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return canonical_time(moment)


def unix_time(value: object, field: str) -> str:
    """Unix seconds (Stripe's ``created``) in canonical form."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**33:
        raise ProcessingError(f"{field} is not a unix timestamp")
    return canonical_time(datetime.fromtimestamp(value, tz=UTC))
