"""What every DynamoDB caller here needs and should not write twice: telling a failed condition,
a permanent refusal and a passing fault apart, and ``BatchGetItem`` in chunks of DynamoDB's limit
with its unprocessed keys asked for again."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

BATCH_GET_LIMIT = 100
"""DynamoDB's limit of keys per ``BatchGetItem`` call."""
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"

Key = Mapping[str, Any]
Item = dict[str, Any]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error")
    return str(error.get("Code", "")) if isinstance(error, dict) else ""


PERMANENT_ERROR_CODES = frozenset({"ValidationException", "SerializationException"})
"""DynamoDB errors that the same request gets again however often it is retried."""


def is_item_too_large(exc: BaseException) -> bool:
    """DynamoDB refused the item for its size (``ValidationException: Item size has exceeded
    the maximum allowed size``): permanent, a retry of the same event fails the same way."""
    return error_code(exc) == "ValidationException" and "size" in str(exc).lower()


def is_permanent_error(exc: BaseException) -> bool:
    """A client error that no retry of the same request can cure (throttling, 5xx and network
    errors are not: they pass)."""
    return error_code(exc) in PERMANENT_ERROR_CODES


def is_conditional_failure(exc: BaseException) -> bool:
    """True when a DynamoDB call failed only because its condition did not hold."""
    return error_code(exc) == CONDITIONAL_CHECK_FAILED


def conditional_failure_item(exc: BaseException) -> Item | None:
    """The stored item a failed conditional write returned (``ReturnValuesOnConditionCheckFailure``),
    ``{}`` when it returned none, or None when ``exc`` is not a conditional failure at all."""
    if not is_conditional_failure(exc):
        return None
    item = getattr(exc, "response", {}).get("Item")
    return item if isinstance(item, dict) else {}


class BatchRead(NamedTuple):
    items: list[Item]
    """The items found (absent keys simply have no item)."""
    unprocessed: list[Key]
    """Keys DynamoDB did not answer for after every attempt (throttling): not known to be missing."""


def batch_get(
    dynamodb: Any,
    table_name: str,
    keys: Sequence[Key],
    *,
    consistent: bool = True,
    attempts: int = 3,
    backoff_seconds: float = 0.05,
) -> BatchRead:
    """Read ``keys`` with one ``BatchGetItem`` per 100, asking again for unprocessed keys up to
    ``attempts`` times per chunk with a linear backoff. Errors of the calls themselves propagate."""
    items: list[Item] = []
    unprocessed: list[Key] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        pending: Sequence[Key] = keys[start : start + BATCH_GET_LIMIT]
        for attempt in range(attempts):
            response = dynamodb.batch_get_item(
                RequestItems={table_name: {"Keys": list(pending), "ConsistentRead": consistent}}
            )
            items.extend(response.get("Responses", {}).get(table_name, []))
            pending = response.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
            if not pending:
                break
            if attempt + 1 < attempts:
                time.sleep(backoff_seconds * (attempt + 1))
        unprocessed.extend(pending)
    return BatchRead(items, unprocessed)
