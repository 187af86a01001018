"""Per-source reconciliation cursors, one small item each in the webhook table (``cursor#<source>``).

A cursor says up to when (unix seconds) a source's events have been listed *and* every one of them
stored: the next run lists from a little before it (the overlap) so an event the provider's list
shows late is never skipped. It also keeps the window one run lists at a time, halved when a
window did not fit in a run's budget and doubled again once windows complete: whatever order a
provider lists in, a burst of events can slow the reconciler down but never wedge it.

Moving a cursor is conditional on where the run found it, so two overlapping runs (a scheduled
one and a slow one) never move it backwards nor over a window the other did not finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.dynamo import is_conditional_failure
from chalicelib.timestamps import iso_timestamp

CURSOR_KEY_PREFIX = "cursor#"
"""The reconciler's role may write only keys with it (and ``wh_``): infrastructure/permissions.py."""
ITEM_TYPE = "reconcileCursor"
MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 86_400


def cursor_key(source: str) -> str:
    return f"{CURSOR_KEY_PREFIX}{source}"


@dataclass(frozen=True)
class Cursor:
    source: str
    position: int
    """Unix seconds: every event created before it has been listed and stored."""
    window_seconds: int = 3600
    exists: bool = True
    """False: no run has completed a window yet (the position is the default starting point)."""


class CursorStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def get(self, source: str, default_position: int) -> Cursor:
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": cursor_key(source)}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return Cursor(source, default_position, exists=False)
        return Cursor(
            source,
            int(item["position"]["N"]),
            int(item.get("windowSeconds", {}).get("N", "3600")),
        )

    def advance(self, cursor: Cursor, position: int, window_seconds: int, now: float) -> bool:
        """Move ``cursor`` to ``position``; False when another run moved it since it was read."""
        item = {
            "pk": {"S": cursor_key(cursor.source)},
            "itemType": {"S": ITEM_TYPE},
            "source": {"S": cursor.source},
            "position": {"N": str(position)},
            "positionAt": {"S": iso_timestamp(position)},
            "windowSeconds": {"N": str(window_seconds)},
            "updatedAt": {"S": iso_timestamp(now)},
        }
        if cursor.exists:
            condition: dict[str, Any] = {
                "ConditionExpression": "#p = :seen",
                "ExpressionAttributeNames": {"#p": "position"},
                "ExpressionAttributeValues": {":seen": {"N": str(cursor.position)}},
            }
        else:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        try:
            self._db.put_item(TableName=self._table, Item=item, **condition)
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
