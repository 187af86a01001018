"""Partial batch responses for SQS and DynamoDB Streams event sources.

Written here rather than taken from Powertools' BatchProcessor for one reason: when every record
of a batch fails, BatchProcessor raises an exception whose text embeds each record's traceback,
and our logs must never carry exception text or stack traces. Returning every record in
``batchItemFailures`` has the same effect on the event source, and these few lines are all the
behaviour we need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalicelib import log

Record = Mapping[str, Any]


def sqs_message_id(record: Record) -> str:
    return str(record.get("messageId", ""))


def stream_sequence_number(record: Record) -> str:
    dynamodb = record.get("dynamodb")
    return str(dynamodb.get("SequenceNumber", "")) if isinstance(dynamodb, Mapping) else ""


def partial_batch(
    records: Iterable[Any],
    handle: Callable[[Record], None],
    item_id: Callable[[Record], str],
    *,
    stop_at_first_failure: bool = False,
) -> dict[str, list[dict[str, str]]]:
    """Run ``handle`` on each record and report the ones that raised.

    SQS retries exactly the reported messages, so every record is tried. A stream retries from
    the lowest reported sequence number onwards, so with ``stop_at_first_failure`` the records
    after a failure are left for that retry rather than handled out of order now.
    """
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            if not isinstance(record, Mapping):
                raise TypeError("record is not an object")
            handle(record)
        except Exception as exc:  # any failure of one record must not fail its neighbours
            identifier = item_id(record) if isinstance(record, Mapping) else ""
            log.error("record failed", itemIdentifier=identifier, errorType=log.error_type(exc))
            failures.append({"itemIdentifier": identifier})
            if stop_at_first_failure:
                break
    return {"batchItemFailures": failures}
