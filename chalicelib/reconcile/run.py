"""The reconciliation loop: list a window of a source's events, store what is missing, move the cursor.

Invariants (docs/RECONCILIATION.md):

- an event is stored through :func:`chalicelib.ingest.store_and_queue`, so it gets the delivery's
  record key, store put and queue; a record that exists (delivered, or reconciled before) is
  counted as already stored and left alone;
- the cursor moves only over a window that was listed to its end with every missing event stored;
  a provider API error (timeout, 429, 5xx, a repeated page, a bad answer) or a store error ends the
  source's run for now, leaves its cursor where it was, is logged and counted: the next run lists
  the same window again, and what this one stored is then already stored (nothing lost, nothing
  stored twice);
- work is bounded: pages per source and a deadline for the whole run.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from chalicelib import log
from chalicelib.errors import ConfigurationError, DependencyUnavailable
from chalicelib.ingest import IngestContext, store_and_queue
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.reconcile.credentials import ApiCredentials, api_credentials
from chalicelib.reconcile.cursor import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, Cursor, CursorStore
from chalicelib.reconcile.http import JsonClient, ProviderApiError
from chalicelib.webhooks.record import ORIGIN_RECONCILED, webhook_id_for

OVERLAP_SECONDS = 600
"""Each window starts this long before the cursor: an event a provider lists late (its list is
eventually consistent, and ``created`` is when it happened, not when it became listable) is
still seen by the next run."""
INITIAL_LOOKBACK_SECONDS = 3600
"""A source's first run starts this far back; older gaps are for ``ops reconcile --since``."""
MAX_PAGES_PER_SOURCE = 50
RUN_SECONDS = 60.0
"""The scheduled run's deadline; its Lambda timeout (.chalice/config.json) leaves room above it."""
METRIC_NAME = "RecoveredWebhooks"
ALERT_IDS_LIMIT = 50


class EventPage(NamedTuple):
    events: list[InboundEvent]
    """The page's payment-relevant events (the provider half filters the rest out)."""
    next_token: str | None
    """What asks for the next page; None on the last one."""


class EventsApi(Protocol):
    """A provider's events list, as ``chalicelib/providers/<name>/events_api.py`` offers it."""

    def page(self, start: int, end: int, token: str | None) -> EventPage:
        """Events created in ``[start, end]`` (unix seconds); :class:`ProviderApiError` on failure."""
        ...


EventsApiFactory = Callable[[SourceConfig, ApiCredentials, JsonClient], EventsApi]


def events_api_factory(provider: str) -> EventsApiFactory | None:
    """The provider's ``events_api`` module's factory; None for a provider without an events list
    (Adyen, Razorpay, Standard Webhooks)."""
    try:
        module = importlib.import_module(f"chalicelib.providers.{provider}.events_api")
    except ModuleNotFoundError:
        return None
    factory: EventsApiFactory = module.events_api
    return factory


@dataclass
class Budget:
    """What one source's run may still spend: pages (None: no limit) and a deadline."""

    pages: int | None = MAX_PAGES_PER_SOURCE
    deadline: float | None = None
    """A ``time.monotonic()`` value; None: no deadline (``ops reconcile``)."""

    def exhausted(self) -> bool:
        if self.pages is not None and self.pages <= 0:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def spend_page(self) -> None:
        if self.pages is not None:
            self.pages -= 1


@dataclass
class Outcome:
    """What listing one or more windows of a source found and did."""

    seen: list[str] = field(default_factory=list)
    """Event ids listed (payment-relevant ones, each once)."""
    already_stored: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    """Webhook ids this run stored."""
    missing: list[str] = field(default_factory=list)
    """Webhook ids not stored because of ``--dry-run``."""
    complete: bool = True
    error: str | None = None
    """Why listing stopped early (a safe reason); None when it completed or ran out of budget."""
    pages: int = 0

    def add(self, other: Outcome) -> None:
        self.seen += other.seen
        self.already_stored += other.already_stored
        self.recovered += other.recovered
        self.missing += other.missing
        self.complete = other.complete
        self.error = other.error
        self.pages += other.pages

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": len(self.seen),
            "alreadyStored": len(self.already_stored),
            "recovered": len(self.recovered),
            "missing": len(self.missing),
            "complete": self.complete,
            "error": self.error,
            "seenEventIds": self.seen,
            "alreadyStoredWebhookIds": self.already_stored,
            "recoveredWebhookIds": self.recovered,
            "missingWebhookIds": self.missing,
        }


def reconcile_window(
    source: SourceConfig,
    api: EventsApi,
    start: int,
    end: int,
    ingest: IngestContext,
    *,
    budget: Budget,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    progress: Callable[[int], None] = lambda count: None,
) -> Outcome:
    """List ``[start, end]`` page by page and store every listed event that is not stored yet."""
    outcome = Outcome()
    seen: set[str] = set()
    tokens: set[str] = set()
    token: str | None = None
    while True:
        if budget.exhausted():
            outcome.complete = False
            return outcome
        budget.spend_page()
        try:
            page = api.page(start, end, token)
        except ProviderApiError as exc:
            return _stopped(outcome, source, exc.reason)
        outcome.pages += 1
        # A page listed twice (or events repeated across pages) must not store or count twice.
        fresh = [event for event in dict((e.event_id, e) for e in page.events).values() if event.event_id not in seen]
        seen.update(event.event_id for event in fresh)
        outcome.seen += [event.event_id for event in fresh]
        if fresh:
            problem = _store_missing(source, fresh, ingest, outcome, dry_run, clock)
            if problem is not None:
                return _stopped(outcome, source, problem)
        progress(len(fresh))
        if page.next_token is None:
            return outcome
        if page.next_token == token or page.next_token in tokens:
            return _stopped(outcome, source, "the API repeated a page")
        if token is not None:
            tokens.add(token)
        token = page.next_token


def _store_missing(
    source: SourceConfig,
    events: list[InboundEvent],
    ingest: IngestContext,
    outcome: Outcome,
    dry_run: bool,
    clock: Callable[[], float],
) -> str | None:
    """Store the events not stored yet; a safe reason when the store could not be used."""
    ids = [webhook_id_for(source.name, event.event_id) for event in events]
    try:
        # One BatchGetItem per 100 ids: reads, where a put per listed event would be a write each.
        loaded = ingest.store.load(ids)
    except Exception as exc:
        log.error("reconcile: store unavailable", source=source.name, errorType=log.error_type(exc))
        return "the webhook store is unavailable"
    if loaded.unavailable:
        return "the webhook store did not answer for every record"
    missing = [event for event, webhook_id in zip(events, ids, strict=True) if webhook_id not in loaded.found]
    outcome.already_stored += [webhook_id for webhook_id in ids if webhook_id in loaded.found]
    if not missing:
        return None
    if dry_run:
        outcome.missing += [webhook_id_for(source.name, event.event_id) for event in missing]
        return None
    try:
        stored = store_and_queue(source, missing, ingest, clock(), origin=ORIGIN_RECONCILED)
    except DependencyUnavailable as exc:
        cause = exc.__cause__ or exc
        log.error("reconcile: store or queue unavailable", source=source.name, errorType=log.error_type(cause))
        return "the webhook store or queue is unavailable"
    for item in stored:
        # Not created: a real delivery stored it between the read and the put.
        (outcome.recovered if item.created else outcome.already_stored).append(item.webhook_id)
    return None


def _stopped(outcome: Outcome, source: SourceConfig, reason: str) -> Outcome:
    log.error("reconcile: listing stopped, cursor kept", source=source.name, provider=source.provider,
              reason=reason, pages=outcome.pages)
    outcome.complete = False
    outcome.error = reason
    return outcome


@dataclass(frozen=True)
class ReconcileContext:
    ingest: IngestContext
    cursors: CursorStore
    sources: Callable[[], Iterable[SourceConfig]]
    """Every configured source (the reconciler picks those with API credentials)."""
    client: JsonClient
    alerts: Callable[[str, str], None] | None = None
    """``alert(subject, message)`` to the alerts topic; None: log only."""
    metrics_namespace: str = ""
    overlap_seconds: int = OVERLAP_SECONDS
    max_pages: int = MAX_PAGES_PER_SOURCE
    run_seconds: float = RUN_SECONDS


@dataclass
class RunResult:
    sources: dict[str, Outcome] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """Sources whose run stopped on an error (their cursors did not move past it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": {name: {k: v for k, v in outcome.to_json().items() if not k.endswith("Ids")}
                        for name, outcome in self.sources.items()},
            "recovered": sum(len(outcome.recovered) for outcome in self.sources.values()),
            "failed": self.failed,
        }


def reconcile_source(
    source: SourceConfig,
    api: EventsApi,
    context: ReconcileContext,
    now: float,
    deadline: float,
) -> Outcome:
    """The scheduled reconciliation of one source: windows from its cursor up to ``now``."""
    cursor = context.cursors.get(source.name, int(now) - INITIAL_LOOKBACK_SECONDS)
    budget = Budget(pages=context.max_pages, deadline=deadline)
    total = Outcome()
    window = cursor.window_seconds
    first = True
    while cursor.position < int(now):
        end = min(int(now), cursor.position + window)
        # The overlap is for events listed late, near the present: only the run's first window needs it.
        start = cursor.position - context.overlap_seconds if first else cursor.position
        outcome = reconcile_window(source, api, start, end, context.ingest, budget=budget)
        total.add(outcome)
        if not outcome.complete:
            if outcome.error is None and first and window > MIN_WINDOW_SECONDS:
                # Not even one window fitted in a whole run's budget: list less at a time from now on.
                smaller = max(MIN_WINDOW_SECONDS, window // 2)
                context.cursors.advance(cursor, cursor.position, smaller, now)
                log.warning("reconcile: window did not fit a run, halved", source=source.name,
                            windowSeconds=smaller)
            break
        if end - cursor.position >= window and outcome.pages * 4 <= context.max_pages:
            window = min(MAX_WINDOW_SECONDS, window * 2)  # a full window that used little: list more at a time
        if not context.cursors.advance(cursor, end, window, now):
            log.warning("reconcile: cursor moved by another run", source=source.name)
            break
        cursor = Cursor(source.name, end, window)
        first = False
    return total


def reconcile_all(context: ReconcileContext, now: float) -> RunResult:
    """The scheduled run: every source with API credentials, each failure contained to its source."""
    deadline = time.monotonic() + context.run_seconds
    result = RunResult()
    for source in context.sources():
        try:
            credentials = api_credentials(source)
        except ConfigurationError as exc:
            log.error("reconcile: source API credentials invalid", source=source.name, problem=str(exc))
            result.failed.append(source.name)
            continue
        if credentials is None:
            continue
        factory = events_api_factory(source.provider)
        if factory is None:
            log.warning("reconcile: provider has no events API", source=source.name, provider=source.provider)
            continue
        try:
            outcome = reconcile_source(source, factory(source, credentials, context.client), context, now, deadline)
        except Exception as exc:  # e.g. the cursor's table unavailable: this source waits for the next run
            log.error("reconcile: source run failed", source=source.name, errorType=log.error_type(exc))
            result.failed.append(source.name)
            continue
        result.sources[source.name] = outcome
        if outcome.error is not None:
            result.failed.append(source.name)
        report(source, outcome, context)
    return result


def report(source: SourceConfig, outcome: Outcome, context: ReconcileContext) -> None:
    """One log line per source run; a recovery is also a metric (by source, and in total) and an
    alert: a recovered event means deliveries are failing."""
    fields: dict[str, Any] = {
        "source": source.name, "provider": source.provider, "seen": len(outcome.seen),
        "alreadyStored": len(outcome.already_stored), "recovered": len(outcome.recovered),
        "complete": outcome.complete,
    }
    if not outcome.recovered:
        log.info("reconcile: source checked", **fields)
        return
    if context.metrics_namespace:
        # CloudWatch embedded metric format: the line itself is the metric, no PutMetricData call.
        fields["_aws"] = {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": context.metrics_namespace,
                "Dimensions": [["source"], []],
                "Metrics": [{"Name": METRIC_NAME, "Unit": "Count"}],
            }],
        }
        fields[METRIC_NAME] = len(outcome.recovered)
    log.warning("reconcile: recovered webhooks that were never delivered", webhookIds=outcome.recovered, **fields)
    if context.alerts is not None:
        shown = outcome.recovered[:ALERT_IDS_LIMIT]
        more = len(outcome.recovered) - len(shown)
        message = (
            f"Reconciliation stored {len(outcome.recovered)} event(s) of source {source.name!r} "
            f"({source.provider}) that were never delivered as webhooks: deliveries to this source are "
            "failing (endpoint disabled, secret rotated, WAF or DNS). They are being processed now.\n"
            "Webhook ids:\n" + "\n".join(shown) + (f"\n... and {more} more" if more else "")
        )
        try:
            context.alerts(f"payment-webhooks: {len(outcome.recovered)} missed webhook(s) recovered for {source.name}",
                           message)
        except Exception as exc:  # the metric's alarm still fires
            log.error("reconcile: alert not sent", source=source.name, errorType=log.error_type(exc))
