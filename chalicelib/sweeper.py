"""The safety net: re-queue webhooks that are still ``received`` long after they arrived.

A record can be left ``received`` with no message in flight, e.g. when the send after the put
failed and the provider never retried. The sparse index holds only such records, so this is a
query, not a scan. Re-queuing something that is in fact in flight is harmless: processing is
idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import log
from chalicelib.queue import ProcessingQueue
from chalicelib.store import WebhookStore
from chalicelib.timestamps import iso_timestamp

MAX_PER_RUN = 1000


@dataclass(frozen=True)
class SweepContext:
    store: WebhookStore
    queue: ProcessingQueue
    older_than_seconds: int


def sweep(context: SweepContext, now: float) -> int:
    cutoff = iso_timestamp(now - context.older_than_seconds)
    stuck = context.store.stuck_since(cutoff, limit=MAX_PER_RUN)
    context.queue.send(stuck)
    if stuck:
        log.warning("re-queued stuck webhooks", count=len(stuck), receivedBefore=cutoff)
    return len(stuck)
