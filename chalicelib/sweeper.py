"""The safety net: re-queue webhooks that are still ``received`` long after they arrived, and give
up on the ones that never get processed.

A record can be left ``received`` with no message in flight: the send after the put failed and
the provider never retried, the processor could not read it, its message was dead-lettered by a
crash before the processor could mark it ``failed``. The sparse sweep index holds only such
records, keyed by when each is next due, so this is a few queries, never a scan. Re-queuing
something that is in fact in flight is harmless: processing is idempotent.

Each sweep is counted on the record (one conditional update) and pushes its next one back,
doubling the wait up to :data:`MAX_BACKOFF_SECONDS`: the most overdue records come first, and a
backlog larger than one run's limit is worked through over successive runs, since every record a
run takes moves behind the rest. A record still ``received`` after ``max_sweeps`` sweeps will not
be processed by sweeping it again: it is marked ``failed`` with a safe reason, the audit alerts a
human, who can replay it once the cause is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import log
from chalicelib.queue import ProcessingQueue
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.store import WebhookStore

MAX_PER_RUN = 1000
"""Records one run handles (the function has a timeout); the rest come first in the next run."""
MAX_BACKOFF_SECONDS = 3600
GAVE_UP_REASON = "never processed: re-queued {sweeps} times by the sweeper, which gave up"


@dataclass(frozen=True)
class SweepContext:
    store: WebhookStore
    queue: ProcessingQueue
    older_than_seconds: int
    """The wait before a record's first sweep (the receiver sets ``sweepAt`` that far ahead), and
    the first backoff after one."""
    max_sweeps: int


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    gave_up: int

    def to_json(self) -> dict[str, int]:
        return {"requeued": self.requeued, "gaveUp": self.gave_up}


def backoff_seconds(sweeps: int, first: int) -> int:
    """The wait after a record's ``sweeps``-th sweep: ``first``, doubled per sweep, capped at an
    hour (or at ``first`` if that is longer)."""
    doubled: int = first * 2 ** max(sweeps - 1, 0)  # typeshed says Any: a negative exponent makes a float
    return min(doubled, max(MAX_BACKOFF_SECONDS, first))


def sweep(context: SweepContext, now: float) -> SweepResult:
    requeue: list[str] = []
    gave_up = 0
    for record in context.store.due_for_sweep(iso_timestamp(now), limit=MAX_PER_RUN):
        if record.sweeps >= context.max_sweeps:
            reason = GAVE_UP_REASON.format(sweeps=record.sweeps)
            if context.store.give_up(record.webhook_id, now, reason):
                log.error("gave up on a stuck webhook", webhookId=record.webhook_id, sweeps=record.sweeps)
                gave_up += 1
            continue
        next_sweep_at = iso_timestamp(now + backoff_seconds(record.sweeps + 1, context.older_than_seconds))
        # False: it finished, or another run took it, since the query.
        if context.store.count_sweep(record, next_sweep_at):
            requeue.append(record.webhook_id)
    context.queue.send(requeue)
    if requeue:
        log.warning("re-queued stuck webhooks", count=len(requeue))
    return SweepResult(requeued=len(requeue), gave_up=gave_up)
