"""``ops reconcile``: list a source's events at the provider and store the ones never delivered.

The same code as the scheduled reconciler (chalicelib/reconcile), on a window the operator names,
with no page limit and without moving the scheduled run's cursor. ``--dry-run`` reads the provider
and the table and stores nothing.
"""

from __future__ import annotations

import time
from datetime import datetime

import click

from chalicelib.errors import ConfigurationError
from chalicelib.ingest import IngestContext
from chalicelib.reconcile.credentials import api_credentials
from chalicelib.reconcile.http import JsonClient, ProviderApiError
from chalicelib.reconcile.run import Budget, Outcome, events_api_factory, reconcile_window
from chalicelib.settings import Settings
from chalicelib.sources import SourceRegistry, parse_source
from ops import records
from ops.cli import common_options
from ops.output import emit, progress_bar
from ops.stage import OpsError, resolve, stage_environment


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _text(source: str, since: str, until: str, dry_run: bool, outcome: Outcome) -> str:
    lines = [f"{source}: {len(outcome.seen)} payment event(s) listed from {since} to {until}, "
             f"{len(outcome.already_stored)} already stored, "
             + (f"{len(outcome.missing)} missing (dry run: nothing stored)" if dry_run
                else f"{len(outcome.recovered)} recovered")]
    lines += [f"  recovered {webhook_id}" for webhook_id in outcome.recovered]
    lines += [f"  missing   {webhook_id}" for webhook_id in outcome.missing]
    if outcome.error:
        lines.append(f"stopped early: {outcome.error}; what was stored stays stored, run it again")
    return "\n".join(lines)


@click.command()
@click.argument("source")
@click.option("--since", required=True, help="Events created at or after: 30m, 2h, 7d ago, or an ISO date/time (UTC).")
@click.option("--until", help="Events created at or before (default: now); same forms as --since.")
@click.option("--dry-run", is_flag=True, help="Only list and compare: store and queue nothing.")
@common_options
def reconcile(source: str, since: str, until: str | None, dry_run: bool, stage: str, as_json: bool) -> int:
    """Store the events of SOURCE the provider lists but never delivered, and queue them.

    Needs the source's API credentials ("api" in the stage's sources secret, docs/RECONCILIATION.md).
    Events already stored (delivered, or recovered before) are counted and left alone.

    \b
    Examples:
      python -m ops reconcile stripe --since 2h --dry-run
      python -m ops reconcile stripe --since 2024-05-01 --until 2024-05-02 --json
    """
    start_iso = records.parse_time(since)
    end_iso = records.parse_time(until) if until else records.parse_time("0m")
    start, end = _unix(start_iso), _unix(end_iso)
    if start > end:
        raise OpsError("--since is after --until")
    target = resolve(stage)
    entries = target.sources()
    if source not in entries:
        raise OpsError(f"unknown source {source!r}; sources of stage {stage}: {', '.join(sorted(entries))}")
    try:
        config = parse_source(source, entries[source], stage)
        credentials = api_credentials(config)
    except ConfigurationError as exc:
        raise OpsError(str(exc)) from None
    if credentials is None:
        raise OpsError(f"source {source!r} has no API credentials: add \"api\" to its entry (docs/RECONCILIATION.md)")
    factory = events_api_factory(config.provider)
    if factory is None:
        raise OpsError(f"{config.provider} has no events list to reconcile against (docs/RECONCILIATION.md)")
    settings = Settings.from_environment({"STAGE": stage, **stage_environment(stage)})
    ingest = IngestContext(
        sources=SourceRegistry(
            target.client("secretsmanager"), target.sources_secret_id, settings.sources_cache_ttl_seconds, stage=stage
        ),
        store=target.store(),
        queue=target.queue(),
        max_body_bytes=settings.max_body_bytes,
        retention_days=settings.retention_days,
        resend_after_seconds=settings.resend_after_seconds,
    )
    try:
        api = factory(config, credentials, JsonClient())
    except ProviderApiError as exc:
        raise OpsError(f"{source}: {exc.reason}") from None
    with progress_bar(None, "reconciling", as_json) as advance:
        outcome = reconcile_window(config, api, start, end, ingest, budget=Budget(pages=None), dry_run=dry_run,
                                   clock=time.time, progress=advance)
    document = {"source": source, "since": start_iso, "until": end_iso, "dryRun": dry_run, **outcome.to_json()}
    emit(as_json, document, _text(source, start_iso, end_iso, dry_run, outcome))
    return 1 if outcome.error else 0


def register(group: click.Group) -> None:
    """Add this module's command to the CLI (``ops.main.command_group``)."""
    group.add_command(reconcile)
