"""Payment records in DynamoDB, updated with optimistic concurrency and without extra reads.

Every write is a ``PutItem`` of the whole record conditioned on the ``version`` it was computed
from (``attribute_not_exists(pk)`` for a new record). Two processors folding events into the same
payment at once cannot lose an update: the second write fails its condition and is recomputed
from what is stored now.

No read precedes a single write. The first attempt is computed from the last version this
container saw (a small in-memory cache) or, for a payment it has not seen, from "no record yet";
when that guess is wrong the failed write hands back the stored item itself
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) and the second attempt uses it. A new payment,
or one this container saw last, costs one call; any other costs two. The processor avoids the
second call for a whole SQS batch with :meth:`PaymentStore.prefetch`: one consistent
``BatchGetItem`` for the batch's payments this container has not seen (a failed conditional
write is billed as a write; a consistent read of the same item costs a fifth of that or less).

Keys are ``<source>:<payment id>`` (:meth:`PaymentEvent.payment_key`): an event only ever reads
and writes records of the source that received it, aliases included, so one source's signer
cannot change another source's payment that has the same id. Records written before that were
keyed by provider; the default source (named like its provider) has the same keys, and no other
source ever reads them: nothing stored says which source wrote one (docs/PAYMENTS.md).

Aliases (PayPal): a payment keyed by its order id is also reachable under its capture id,
because a refund or a dispute names only the capture. Events that carry such related keys link
them *before* they are applied (so a crash in between is repaired by the retry). If an event
reached a capture id before its order was known, the record it created there is folded into the
order's record (states join, so nothing is lost or doubled) and replaced by the alias.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import log
from chalicelib.errors import ProcessingError
from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.record import (
    KEY_PREFIX,
    PAYMENT_ITEM_TYPE,
    PaymentRecord,
    alias_item,
    alias_target,
    item_key,
    item_type,
)
from chalicelib.timestamps import iso_timestamp

MAX_ATTEMPTS = 8
CONTENTION_BACKOFF_CAP_SECONDS = 0.5
MAX_ALIAS_HOPS = 2
CACHE_SIZE = 256
BATCH_GET_LIMIT = 100  # DynamoDB's limit of keys per BatchGetItem


class PaymentContention(ProcessingError):
    """The record kept changing under us; the webhook is retried later (SQS redelivery)."""

    def __init__(self) -> None:
        super().__init__("the payment record was updated concurrently too often")


@dataclass(frozen=True)
class Applied:
    record: PaymentRecord
    """The record after the event (unchanged when it had been applied before)."""
    event: PaymentEvent
    """The event as applied: keyed to the record it landed on (aliases resolved)."""
    changed: bool
    """False for a replay: the event was already part of the record."""


def _conditional_failure_item(exc: Exception) -> dict[str, Any] | None:
    """The stored item a failed conditional write returned, {} if there is none, or None when
    ``exc`` is not a conditional failure at all."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    if response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        return None
    item = response.get("Item")
    return item if isinstance(item, dict) else {}


class PaymentStore:
    def __init__(self, dynamodb: Any, table_name: str, cache_size: int = CACHE_SIZE) -> None:
        self._db = dynamodb
        self._table = table_name
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------------

    def apply(self, event: PaymentEvent, now: float) -> Applied:
        """Fold ``event`` into its payment record: idempotent per event id, safe to run twice."""
        at = iso_timestamp(now)
        for related in event.related_record_keys:
            if related != event.payment_key and not self._known_alias(event.payment_key, related):
                self._link(related, event.payment_key, event.provider, at)
        record, changed = self._update(
            event.payment_key, event.provider, lambda current: current.apply(event.keyed_as(current.key), at)
        )
        # The published event carries the payment as it now is (schema v2's snapshot).
        keyed = replace(event.keyed_as(record.key), payment=record.snapshot())
        return Applied(record=record, event=keyed, changed=changed)

    def prefetch(self, payment_keys: Iterable[str]) -> None:
        """Load the records of ``payment_keys`` this container has not seen, in one call per 100.

        Best effort: what could not be read is simply not cached, and :meth:`apply` then falls
        back to its guess and the item a failed write returns. Consistent reads, so a record is
        never older than what the guess would have found.
        """
        wanted = [key for key in dict.fromkeys(payment_keys) if self._cached(key) is None]
        try:
            for start in range(0, len(wanted), BATCH_GET_LIMIT):
                keys = [{"pk": {"S": item_key(key)}} for key in wanted[start : start + BATCH_GET_LIMIT]]
                response = self._db.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
                for item in response.get("Responses", {}).get(self._table, []):
                    self._remember(item["pk"]["S"].removeprefix(KEY_PREFIX), item)
        except Exception as exc:  # an optimisation only: the writes work without it
            log.warning("payment records not prefetched", count=len(wanted), errorType=log.error_type(exc))

    def record(self, payment_key: str) -> PaymentRecord | None:
        """The stored record under ``payment_key`` (aliases followed), read consistently."""
        key = payment_key
        for _ in range(MAX_ALIAS_HOPS + 1):
            item = self._read(key)
            if item is None:
                return None
            target = alias_target(item)
            if target is None:
                return PaymentRecord.from_item(item) if item_type(item) == PAYMENT_ITEM_TYPE else None
            key = target
        return None

    def get(self, payment_key: str) -> dict[str, Any] | None:
        """The operator's JSON view of a payment (``ops payment``), or None if unknown."""
        found = self.record(payment_key)
        if found is None:
            return None
        view = found.view()
        if found.key != payment_key:
            view["requestedKey"] = payment_key
        return view

    # -- the optimistic loop -----------------------------------------------------------------------

    def _update(
        self, key: str, provider: str, change: Callable[[PaymentRecord], PaymentRecord | None]
    ) -> tuple[PaymentRecord, bool]:
        """Read-modify-write of the record at ``key`` (following aliases) under a version check.

        ``change`` returns the new record, or None when there is nothing to write; ``provider``
        is the provider of a record created here.
        """
        hops = 0
        for attempt in range(MAX_ATTEMPTS):
            known = self._cached(key)
            target = alias_target(known) if known else None
            if target is not None:
                hops += 1
                if hops > MAX_ALIAS_HOPS:
                    raise ProcessingError("the payment's aliases form a chain")
                key = target
                continue
            if known and item_type(known) != PAYMENT_ITEM_TYPE:
                raise ProcessingError("the payment key is taken by another kind of item")
            current = PaymentRecord.from_item(known) if known else None
            base = current or PaymentRecord.new(key, provider)
            updated = change(base)
            if updated is None:
                return base, False
            item = updated.to_item()
            stored = self._put(item, expected_version=current.version if current else None)
            if stored is None:
                self._remember(key, item)
                return updated, True
            self._remember(key, stored)
            if attempt >= 2:  # real contention, not just a stale guess: full-jitter exponential backoff
                time.sleep(random.uniform(0, min(CONTENTION_BACKOFF_CAP_SECONDS, 0.01 * 2**attempt)))
        raise PaymentContention()

    def _known_alias(self, key: str, alias: str) -> bool:
        known = self._cached(key)
        if not known or item_type(known) != PAYMENT_ITEM_TYPE:
            return False
        return alias in PaymentRecord.from_item(known).state.aliases

    def _link(self, alias_key: str, target_key: str, provider: str, at: str) -> None:
        """Make ``alias_key`` point at ``target_key``, folding any record stored there first."""
        item = alias_item(alias_key, target_key, at)
        orphan: PaymentRecord | None = None
        for _ in range(MAX_ATTEMPTS):
            stored = self._put(item, expected_version=orphan.version if orphan else None)
            if stored is None:
                self._remember(alias_key, item)
                if orphan is not None:
                    log.info("payment record folded into its alias target",
                             paymentKey=target_key, alias=alias_key)
                return
            existing = alias_target(stored) if stored else None
            if existing is not None:
                self._remember(alias_key, stored)
                if existing != target_key:
                    log.warning("payment alias points elsewhere; kept",
                                alias=alias_key, paymentKey=target_key)
                return
            if not stored:  # vanished between our calls: try to create it again
                orphan = None
                continue
            if item_type(stored) != PAYMENT_ITEM_TYPE:
                raise ProcessingError("the payment key is taken by another kind of item")
            orphan = PaymentRecord.from_item(stored)

            def fold_in(current: PaymentRecord, absorbed: PaymentRecord = orphan) -> PaymentRecord | None:
                return current.absorb(absorbed, at)

            self._update(target_key, provider, fold_in)
        raise PaymentContention()

    # -- DynamoDB ------------------------------------------------------------------------------------

    def _put(self, item: dict[str, Any], expected_version: int | None) -> dict[str, Any] | None:
        """Write ``item`` if the stored one has ``expected_version`` (None: if there is none).

        Returns None on success; on a failed condition, the item stored now ({} for none).
        """
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if expected_version is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "version = :expected"
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self._db.put_item(**kwargs)
        except Exception as exc:
            stored = _conditional_failure_item(exc)
            if stored is None:
                raise
            if not stored:  # none stored, or an emulator that does not return it: read it
                stored = self._read(item["pk"]["S"].removeprefix(KEY_PREFIX)) or {}
            return stored
        return None

    def _read(self, key: str) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": item_key(key)}}, ConsistentRead=True
        )
        item = response.get("Item")
        return item if isinstance(item, dict) else None

    # -- the container's cache of last-seen items ----------------------------------------------------

    def _cached(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._cache.get(key)
            if item is not None:
                self._cache.move_to_end(key)
            return item

    def _remember(self, key: str, item: dict[str, Any]) -> None:
        with self._lock:
            if not item:
                self._cache.pop(key, None)
                return
            self._cache[key] = item
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
