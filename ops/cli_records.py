"""``ops show``, ``list``, ``payment``, ``replay``, ``redrive`` and ``requeue``: inspect and re-run
stored work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from chalicelib.dynamo import is_conditional_failure
from chalicelib.errors import ConfigurationError
from chalicelib.sources import SOURCE_NAME, parse_source
from chalicelib.webhooks.record import FINAL_STATUSES, STATUSES, WebhookStatus
from ops import rebuild as rebuild_module
from ops import records
from ops.cli import common_options
from ops.output import emit, payment_text, progress_bar, record_text
from ops.stage import OpsError, StageTarget, resolve


@click.command()
@click.argument("payment_key", metavar="SOURCE:PAYMENT_ID")
@click.option("--rebuild", is_flag=True, help="Re-derive the payment from its webhooks (live or archived) and "
              "report any difference with the stored record. Writes nothing without --write.")
@click.option("--deep", is_flag=True, help="With --rebuild: also read every archived webhook of the source "
              "(done anyway when the record's history is full).")
@click.option("--write", is_flag=True, help="With --rebuild: replace the stored record with the rebuilt one.")
@common_options
def payment(payment_key: str, rebuild: bool, deep: bool, write: bool, stage: str, as_json: bool) -> int:
    """Show one payment's state and history, e.g. `stripe-eu:pi_3MtwBwLkdIwHu7ix28a3tqPa`.

    Payments are keyed by the source that received them (the name in /webhook/SOURCE): two
    sources of one provider keep two payments even when the ids are equal. A provider's default
    source has the provider's name (`stripe:pi_...`). For PayPal use the order id (or a capture
    id: it leads to its order's payment, of the same source).
    """
    source, _, payment_id = payment_key.partition(":")
    if not SOURCE_NAME.fullmatch(source) or not payment_id:
        raise OpsError(f"expected SOURCE:PAYMENT_ID (the source as in /webhook/SOURCE, e.g. stripe or stripe-eu), "
                       f"not {payment_key!r}")
    if (deep or write) and not rebuild:
        raise OpsError("--deep and --write only go with --rebuild")
    target = resolve(stage)
    if rebuild:
        return _rebuild(target, payment_key, deep, write, as_json)
    view = target.payments().get(payment_key)
    if view is None:
        raise OpsError(f"no payment {payment_key} in stage {stage}")
    emit(as_json, view, payment_text(view))
    return 0


def _rebuild(target: StageTarget, payment_key: str, deep: bool, write: bool, as_json: bool) -> int:
    """Exit 0 when the rebuilt record matches the stored one (or was written), 1 when it differs."""
    stored = target.payments().record(payment_key)
    if stored is None:
        raise OpsError(f"no payment {payment_key} in stage {target.stage}")
    db = target.client("dynamodb")
    candidates, missing, searched = rebuild_module.gather(
        stored, target.store(), db, target.table_name, target.archive(), deep=deep
    )
    # The processor normalizes with the source's options (Adyen autoCapture): so does the rebuild.
    entry = target.sources().get(stored.source)
    try:
        options = parse_source(stored.source, entry).options if entry is not None else None
    except ConfigurationError as exc:
        raise OpsError(f"cannot rebuild as the processor would: {exc}") from None
    result = rebuild_module.rebuild(stored, candidates, time.time(), options)
    result.missing, result.searched = missing, searched
    document = result.to_json()
    lines = [f"payment {stored.key}: stored {stored.status} (version {stored.version}), "
             f"rebuilt {result.rebuilt.status} "
             f"from {len(result.webhooks)} webhook(s)"]
    lines += [f"  webhook  {f.record.webhook_id} ({f.where}) {f.record.received_at} {f.record.event_type}"
              for f in result.webhooks]
    lines += [f"  skipped  {s['webhookId']}: {s['reason']}" for s in result.skipped]
    lines += [f"  missing  {m}: named by the history, in neither the table nor the archive" for m in missing]
    if searched.get("archiveListed") is None:
        lines.append("  archive  not listed (the history is not full; --deep lists it)")
    for name, values in result.differences.items():
        lines.append(f"  differs  {name}: stored {values['stored']!r}, rebuilt {values['rebuilt']!r}")
    if not result.differences:
        lines.append("  the rebuilt record matches the stored one")
    if write:
        if not result.differences:
            lines.append("  nothing written: nothing to replace")
            document["written"] = False
        else:
            try:
                written = rebuild_module.write_rebuilt(db, target.table_name, result, time.time())
            except Exception as exc:
                if not is_conditional_failure(exc):
                    raise
                raise OpsError(f"the payment {stored.key} changed meanwhile (it is no longer version "
                               f"{stored.version}): nothing written, run --rebuild again") from None
            document["written"] = True
            document["writtenVersion"] = written.version
            lines.append(f"  wrote version {written.version}, replacing version {stored.version} "
                         f"({', '.join(result.differences)} replaced)")
            emit(as_json, document, "\n".join(lines))
            return 0
    emit(as_json, document, "\n".join(lines))
    return 0 if not result.differences else 1


@click.command()
@click.argument("webhook_id")
@click.option("--payload", is_flag=True, help="Include the stored raw payload.")
@common_options
def show(webhook_id: str, payload: bool, stage: str, as_json: bool) -> int:
    """Show one webhook record: status, attempts, last error, event and source."""
    target = resolve(stage)
    record = target.store().get(webhook_id)
    archived = None
    if record is None:  # expired from the table: the archive has every record the TTL removed
        archive = target.archive()
        archived = archive.get(webhook_id) if archive is not None else None
        if archived is None:
            raise OpsError(f"no webhook record {webhook_id!r} in stage {stage}, nor in its archive")
        record = archived.record
    document = record.to_json()
    if payload:
        document["payload"] = record.payload
    text = record_text(record, payload)
    if archived is not None:
        document.update(archived=True, archiveKey=archived.key, archivedAt=archived.archived_at)
        text = (f"archived    yes: the table no longer has it (s3://{target.archive_bucket}/{archived.key}, "
                f"archived {archived.archived_at})\n{text}")
    else:
        document["archived"] = False
    emit(as_json, document, text)
    return 0


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--source", help="Only this source."),
        click.option("--status", type=click.Choice(sorted(STATUSES)), help="Only records in this status."),
        click.option("--since", help="Received at or after: 30m, 2h, 7d ago, or an ISO date/time (UTC)."),
        click.option("--until", help="Received before: same forms as --since."),
    ]):
        command = option(command)
    return command


def read_filters(source: str | None, status: str | None, since: str | None, until: str | None) -> records.Filters:
    return records.Filters(source=source, status=status, since=records.parse_time(since) if since else None,
                           until=records.parse_time(until) if until else None)


@click.command(name="list")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many, newest first.")
@common_options
def list_records(source: str | None, status: str | None, since: str | None, until: str | None, limit: int,
                 stage: str, as_json: bool) -> int:
    """List webhook records, newest first (scans the table: an operator's tool)."""
    filters = read_filters(source, status, since, until)  # wrong input is reported before any AWS call
    found = records.find(resolve(stage).store(), filters, limit)
    header = f"{'RECEIVED AT':<25} {'WEBHOOK ID':<36} {'SOURCE':<10} {'EVENT TYPE':<42} {'STATUS':<10} ATTEMPTS"
    rows = [f"{r.received_at:<25} {r.webhook_id:<36} {r.source:<10} {r.event_type:<42} {r.status:<10} {r.attempts}"
            for r in found]
    emit(as_json, [record.to_json() for record in found], "\n".join([header, *rows]) if rows else "no records")
    return 0


# -------------------------------------------------------------------------------------------
# replay / redrive
# -------------------------------------------------------------------------------------------


@click.command()
@click.argument("webhook_ids", nargs=-1, metavar="[WEBHOOK_ID]...")
@filter_options
@click.option("--all", "everything", is_flag=True, help="Every record (when no id or filter is given).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (newest first).")
@click.option("--dry-run", is_flag=True, help="Only show what would be replayed.")
@common_options
def replay(webhook_ids: tuple[str, ...], source: str | None, status: str | None, since: str | None,
           until: str | None, everything: bool, limit: int | None, dry_run: bool, stage: str, as_json: bool) -> int:
    """Queue stored webhooks for processing again, by id or by filter.

    Final records (processed, ignored, failed) are reopened first. Processing is idempotent, so a
    replay re-applies nothing that is already applied.

    \b
    Examples:
      python -m ops replay wh_3kq...
      python -m ops replay --source stripe --status failed --since 2h
    """
    filters = read_filters(source, status, since, until)
    if webhook_ids and not filters.empty:
        raise OpsError("give webhook ids or filters, not both")
    if not webhook_ids and filters.empty and not everything:
        raise OpsError("say what to replay: webhook ids, --source/--status/--since/--until, or --all")
    target = resolve(stage)
    store = target.store()
    missing: list[str] = []
    if webhook_ids:
        chosen = []
        for webhook_id in dict.fromkeys(webhook_ids):
            record = store.get(webhook_id)
            if record is None:
                missing.append(webhook_id)
            else:
                chosen.append(record)
        chosen = chosen[:limit] if limit else chosen
    else:
        chosen = records.find(store, filters, limit)
    if dry_run:  # the same words and counts as the real run below, in the conditional
        reopening = sum(1 for r in chosen if r.status in FINAL_STATUSES)
        would = f" ({reopening} would be reopened first)" if reopening else ""
        emit(as_json, {"dryRun": True, "wouldQueue": [r.to_json() for r in chosen], "missing": missing},
             "\n".join([f"would queue {len(chosen)} webhook(s) for processing{would}"]
                       + [f"  {r.webhook_id} ({r.source} {r.event_type}, {r.status})" for r in chosen]
                       + [f"not found: {m}" for m in missing]))
        return 1 if missing else 0
    with progress_bar(len(chosen), "replaying", as_json) as advance:
        result = records.replay(store, target.queue(), chosen, advance)
    result.missing.extend(missing)
    reopened = f" ({len(result.reopened)} reopened)" if result.reopened else ""
    text = [f"queued {len(result.queued)} webhook(s) for processing{reopened}"]
    text += [f"not found: {m}" for m in result.missing]
    emit(as_json, result.to_json(), "\n".join(text))
    return 1 if result.missing else 0


@click.command()
@click.option("--dry-run", is_flag=True, help="Only show what would move; every message stays in the DLQ.")
@click.option("--limit", type=click.IntRange(min=1), help="Move at most this many messages.")
@common_options
def redrive(dry_run: bool, limit: int | None, stage: str, as_json: bool) -> int:
    """Move dead-lettered messages back to the processing queue.

    Their `failed` records are reopened, so processing runs again; a record that is final
    otherwise (processed meanwhile, e.g. by a replay) stays as it is.
    """
    target = resolve(stage)
    sqs = target.client("sqs")
    dlq_url = target.dead_letter_queue_url()
    total = records.dead_letter_count(sqs, dlq_url)
    with progress_bar(min(total, limit) if limit else total, "redriving", as_json or dry_run) as advance:
        letters = records.redrive(sqs, target.store(), dlq_url, target.processing_queue_url(),
                                  dry_run=dry_run, limit=limit, progress=advance)
    verb = "would move" if dry_run else "moved"
    text = [f"{verb} {len(letters)} message(s) from the dead-letter queue to the processing queue"]
    text += [f"  {letter.webhook_id or '(not a webhook message)'} {_redriven(letter.status, dry_run)}".rstrip()
             for letter in letters]
    emit(as_json, {"dryRun": dry_run, "count": len(letters), "messages": [m.to_json() for m in letters]},
         "\n".join(text))
    return 0


def _redriven(status: str | None, dry_run: bool) -> str:
    """What redrive does to the message's record, in words (its status alone read as a failure)."""
    if status is None:
        return "(no record)"
    if status == WebhookStatus.FAILED:
        return "(record failed: would be reopened)" if dry_run else "(record was failed: reopened)"
    return f"(record {status}: left as it is)"


@click.command()
@click.option("--from-failures", is_flag=True,
              help="Re-send the webhooks of the stream ranges in the enqueue-failures queue (cheap).")
@click.option("--scan", is_flag=True, help="Last resort: Scan the whole table for records still received (costly).")
@click.option("--older-than", default="15m", show_default=True, metavar="AGE",
              help="With --scan: only records received longer ago than this (15m, 2h, 1d).")
@click.option("--limit", type=click.IntRange(min=1), help="With --from-failures: at most this many ranges.")
@click.option("--dry-run", is_flag=True, help="Only show what would be sent.")
@common_options
def requeue(from_failures: bool, scan: bool, older_than: str, limit: int | None, dry_run: bool, stage: str,
            as_json: bool) -> int:
    """Send to the queue the new webhooks the outbox gave up on (the enqueue-failures alarm).

    \b
    Examples:
      python -m ops requeue --from-failures --stage prod
      python -m ops requeue --scan --older-than 1h --stage prod
    """
    from infrastructure.names import StageNames
    from ops import requeue as requeue_module

    if from_failures == scan:
        raise OpsError("say how: --from-failures (the stream ranges in the enqueue-failures queue) or --scan")
    target = resolve(stage)
    if scan:
        result = requeue_module.by_scan(target.store(), target.queue(), records.parse_time(older_than), dry_run)
    else:
        sqs = target.client("sqs")
        name = StageNames(stage).enqueue_failure_queue
        try:
            failure_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except Exception:
            raise OpsError(f"no enqueue-failures queue {name} on stage {stage}: use --scan") from None
        result = requeue_module.from_failures(sqs, target.client("dynamodbstreams"), target.store(), target.queue(),
                                              failure_url, dry_run=dry_run, limit=limit)
    verb = "would queue" if dry_run else "queued"
    text = [f"{verb} {len(result.queued)} webhook(s) still received"]
    if result.skipped:
        text.append(f"{len(result.skipped)} no longer received (left alone)")
    if result.expired_ranges:
        text.append(f"{result.expired_ranges} range(s) no longer in the stream (24 h): run --scan")
    emit(as_json, {"dryRun": dry_run, **result.to_json()}, "\n".join(text))
    return 0


def register(group: click.Group) -> None:
    """Add this module's commands to the CLI (``ops.main.command_group``)."""
    for command in (payment, show, list_records, replay, redrive, requeue):
        group.add_command(command)
