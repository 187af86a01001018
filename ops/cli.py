"""``python -m ops``: send signed sample webhooks, inspect records, replay and redrive.

Every command takes ``--stage`` (default ``local``: the stack `make run` started, found by itself)
and ``--json`` (one JSON document on stdout). Human output goes to stdout, progress bars and errors
to stderr. See ``README.md`` ("Operating it") for examples.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from chalicelib.store import STATUSES, WebhookRecord, WebhookStore
from ops import delivery as deliveries
from ops import records, samples
from ops.stage import LOCAL, OpsError, resolve

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.2


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    )(command)
    return click.option(
        "--stage", default=LOCAL, show_default=True, metavar="STAGE",
        help="local: the stack `make run` started; otherwise a stage of .chalice/config.json, "
        "with your AWS credentials.",
    )(command)


def emit(as_json: bool, document: Any, text: str) -> None:
    click.echo(json.dumps(document, indent=2) if as_json else text)


@contextmanager
def progress_bar(total: int | None, label: str, hidden: bool) -> Iterator[Callable[[int], None]]:
    """A bar on stderr when it is a terminal (tqdm hides itself otherwise) and not --json."""
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="msg", file=sys.stderr, disable=True if hidden else None,
              leave=False) as bar:
        yield bar.update


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Operate payment-webhooks: send signed sample events, inspect, replay and redrive.

    Run from the repository root. Without --stage every command works on the local stack that
    `make run` started.
    """


# -------------------------------------------------------------------------------------------
# send
# -------------------------------------------------------------------------------------------


def webhook_url(base: str, source: str) -> str:
    """``base`` as given when it already ends in /webhook/<name>, else with that path added."""
    stripped = base.rstrip("/")
    segments = urllib.parse.urlsplit(stripped).path.split("/")
    if len(segments) >= 2 and segments[-2] == "webhook" and segments[-1]:
        return stripped
    return f"{stripped}/webhook/{source}"


def wait_until_final(store: WebhookStore, webhook_ids: list[str], timeout: float) -> list[WebhookRecord | None]:
    deadline = time.monotonic() + timeout
    while True:
        found = [store.get(webhook_id) for webhook_id in webhook_ids]
        if all(record is not None and record.is_final for record in found) or time.monotonic() > deadline:
            return found
        time.sleep(POLL_SECONDS)


@cli.command()
@click.argument("source")
@click.argument("event_type")
@click.option("--url", help="Where to POST: a base URL (…/webhook/SOURCE is added) or the full "
              "webhook URL. Default: the local stack. Required for other stages.")
@click.option("--duplicate", is_flag=True, help="Send the same delivery twice, as a provider's retry would.")
@click.option("--tamper", is_flag=True, help="Raise the amount after signing: the answer must be 401.")
@click.option("--payment-id", help="The payment to talk about (PaymentIntent, Square payment, PayPal order, "
              "Adyen pspReference, pay_…); reuse it to send one payment's life cycle.")
@click.option("--amount", type=click.IntRange(min=0), default=2000, show_default=True,
              help="In minor units (2000 = 20.00).")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
@click.option("--event-id", help="The provider's event id (default: a new one). Not for Adyen.")
@click.option("--wait/--no-wait", default=None,
              help="Wait until processing finished and show the outcome. Default: on for --stage local.")
@common_options
def send(source: str, event_type: str, url: str | None, duplicate: bool, tamper: bool, payment_id: str | None,
         amount: int, currency: str, event_id: str | None, wait: bool | None, stage: str, as_json: bool) -> int:
    """Send a realistic, correctly signed sample EVENT_TYPE to SOURCE (like `stripe trigger`).

    \b
    Examples:
      python -m ops send stripe payment_intent.succeeded
      python -m ops send square payment.updated:failed --payment-id KkAkhdMsgzn59SM8A89WgKwekxLZY
      python -m ops send adyen AUTHORISATION --amount 1000 --currency EUR
      python -m ops send stripe charge.refunded --stage dev --url https://abc.execute-api.eu-west-1.amazonaws.com/api
    `python -m ops samples` lists every event type. Exit status: 0 when the endpoint answered as
    expected (2xx, or 401 for --tamper) and, when waiting, processing finished.
    """
    if len(currency) != 3 or not currency.isalpha():
        raise OpsError(f"--currency must be an ISO 4217 code like USD, not {currency!r}")
    target = resolve(stage)
    base = url or target.app_url
    if not base:  # before any AWS call
        raise OpsError(f"--url is required for stage {stage} (the deployed API's URL)")
    configured = target.sources()
    entry = configured.get(source)
    if not isinstance(entry, dict):
        raise OpsError(f"unknown source {source!r}; sources of stage {stage}: {', '.join(sorted(configured))}")
    provider = str(entry.get("provider", source))
    built = samples.build(provider, event_type, samples.SampleOptions(
        payment_id=payment_id, amount=amount, currency=currency.upper(), event_id=event_id))
    material = deliveries.SigningMaterial.from_source(entry, provider, target.paypal)
    signed = deliveries.sign(built, material)
    if tamper:
        signed = deliveries.tamper(signed)
    endpoint = webhook_url(base, source)
    answers = [deliveries.post(endpoint, signed)]
    if duplicate:
        answers.append(deliveries.post(endpoint, signed))

    accepted = all(200 <= answer.status < 300 for answer in answers)
    ok = answers[0].status == 401 if tamper else accepted
    webhook_ids = list(dict.fromkeys(i for answer in answers for i in answer.webhook_ids))
    should_wait = (target.is_local if wait is None else wait) and accepted and not tamper and bool(webhook_ids)
    final: list[WebhookRecord | None] = []
    if should_wait:
        final = wait_until_final(target.store(), webhook_ids, WAIT_SECONDS)
        ok = ok and all(record is not None and record.is_final and record.status != "failed" for record in final)

    document = {
        "stage": stage, "source": source, "provider": provider, "eventType": built.event_type,
        "sample": built.sample, "eventId": built.event_id, "paymentId": built.payment_id, "url": endpoint,
        "tampered": tamper,
        "responses": [{"httpStatus": a.status, "outcome": a.outcome, "webhookIds": a.webhook_ids} for a in answers],
        "records": [record.to_json() if record else None for record in final],
    }
    lines = [f"sent {source} {built.sample} (event {built.event_id}, payment {built.payment_id}) to {endpoint}"]
    for answer in answers:
        lines.append(f"  {answer.status} {answer.outcome} {' '.join(answer.webhook_ids)}".rstrip())
    if tamper:
        lines.append("  tampered after signing: " + ("rejected, as it must be" if ok else "NOT rejected as it must be"))
    for webhook_id, record in zip(webhook_ids, final):
        if record is None:
            lines.append(f"  {webhook_id}: not found")
        elif record.is_final:
            lines.append(f"  {webhook_id}: {record.status} after {record.attempts} attempt(s)"
                         + (f" ({record.last_error})" if record.last_error else ""))
        else:
            lines.append(f"  {webhook_id}: still {record.status} after {WAIT_SECONDS:.0f} s; is `make run` running?")
    emit(as_json, document, "\n".join(lines))
    return 0 if ok else 1


@cli.command()
@click.argument("source")
@click.option("--payment-id", help="The payment's provider id (default: a new one).")
@click.option("--order", type=click.Choice(["in-order", "shuffled", "reversed"]), default="in-order",
              show_default=True, help="The delivery order: providers do not promise theirs.")
@click.option("--seed", type=int, default=None, help="Seed for --order shuffled (default: random).")
@click.option("--amount", type=click.IntRange(min=1), default=2000, show_default=True, help="In minor units.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
@common_options
def lifecycle(source: str, payment_id: str | None, order: str, seed: int | None, amount: int, currency: str,
              stage: str, as_json: bool) -> int:
    """Send one payment's whole life cycle to SOURCE, in order or not, then show the payment.

    \b
    Each event carries the provider time of its step (one minute apart), so the final state must
    not depend on the delivery order. Examples:
      python -m ops lifecycle stripe --order shuffled
      python -m ops lifecycle adyen --order reversed --payment-id PSP1234567890123
    """
    import random

    target = resolve(stage)
    if not target.app_url:
        raise OpsError(f"lifecycle needs the local stack (stage {stage} has no known URL)")
    configured = target.sources()
    entry = configured.get(source)
    if not isinstance(entry, dict):
        raise OpsError(f"unknown source {source!r}; sources of stage {stage}: {', '.join(sorted(configured))}")
    provider = str(entry.get("provider", source))
    steps = samples.LIFECYCLES.get(provider)
    if steps is None:
        raise OpsError(f"no life cycle for provider {provider!r}")
    material = deliveries.SigningMaterial.from_source(entry, provider, target.paypal)
    start = time.time() - 60 * len(steps)
    built = []
    for index, name in enumerate(steps):
        event = samples.build(provider, name, samples.SampleOptions(
            payment_id=payment_id, amount=amount, currency=currency.upper(), now=start + 60 * index))
        payment_id = event.payment_id
        built.append(event)
    sequence = list(built)
    if order == "reversed":
        sequence.reverse()
    elif order == "shuffled":
        random.Random(seed).shuffle(sequence)
    endpoint = webhook_url(target.app_url, source)
    webhook_ids: list[str] = []
    sent = []
    for event in sequence:
        answer = deliveries.post(endpoint, deliveries.sign(event, material))
        if not 200 <= answer.status < 300:
            raise OpsError(f"{event.sample} was answered {answer.status} {answer.outcome}")
        webhook_ids.extend(answer.webhook_ids)
        sent.append({"sample": event.sample, "httpStatus": answer.status, "webhookIds": answer.webhook_ids})
    final = wait_until_final(target.store(), webhook_ids, WAIT_SECONDS)
    if not all(record is not None and record.is_final for record in final):
        raise OpsError("not every event was processed in time; is `make run` running?")
    key = f"{provider}:{payment_id}"
    view = target.payments().get(key)
    document = {"paymentKey": key, "order": order, "sent": sent, "payment": view}
    lines = [f"sent {len(sent)} events of {key} ({order}): " + ", ".join(item["sample"] for item in sent)]
    lines.append(payment_text(view) if view else f"payment {key}: not found")
    emit(as_json, document, "\n".join(lines))
    return 0


@cli.command(name="samples")
@click.argument("provider", required=False)
@common_options
def list_samples(provider: str | None, stage: str, as_json: bool) -> int:
    """List the sample event types `send` knows, per provider (the stage is not used)."""
    chosen = [provider] if provider else samples.providers()
    catalog: dict[str, dict[str, str]] = {}
    for name in chosen:
        if name not in samples.CATALOG:
            raise OpsError(f"unknown provider {name!r}; providers: {', '.join(samples.providers())}")
        catalog[name] = {key: sample.description for key, sample in samples.CATALOG[name].items()}
    lines = []
    for name, entries in catalog.items():
        lines.append(name)
        lines.extend(f"  {key:<42} {description}" for key, description in entries.items())
    emit(as_json, catalog, "\n".join(lines))
    return 0


# -------------------------------------------------------------------------------------------
# show / list
# -------------------------------------------------------------------------------------------


def payment_text(view: dict[str, Any]) -> str:
    lines = [f"payment {view['paymentKey']}: {view['status']}"]
    if view.get("amountDisplay"):
        lines.append(f"  amount   {view['amountDisplay']} {view['currency']}"
                     + (f", refunded {view['refundedDisplay']}" if view.get("refundedAmount") else ""))
    for refund in view.get("refunds", []):
        lines.append(f"  refund   {refund['refundId']} {refund['status']} {refund.get('amount')}")
    for dispute in view.get("disputes", []):
        lines.append(f"  dispute  {dispute['disputeId']} {dispute['status']}")
    for entry in view.get("history", []):
        effect = f"-> {entry.get('paymentStatus')}" if entry.get("changed") else "(no change)"
        lines.append(f"  history  {entry.get('occurredAt', '')} {entry.get('providerEventType', '')} "
                     f"{entry.get('status', '')} {effect}")
    return "\n".join(lines)


@cli.command()
@click.argument("payment_key", metavar="PROVIDER:PAYMENT_ID")
@common_options
def payment(payment_key: str, stage: str, as_json: bool) -> int:
    """Show one payment's state and history, e.g. `stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa`.

    For PayPal use the order id (or a capture id: it leads to its order's payment).
    """
    provider, _, payment_id = payment_key.partition(":")
    if provider not in samples.CATALOG or not payment_id:
        raise OpsError(f"expected PROVIDER:PAYMENT_ID with a provider of {', '.join(samples.providers())}, "
                       f"not {payment_key!r}")
    view = resolve(stage).payments().get(payment_key)
    if view is None:
        raise OpsError(f"no payment {payment_key} in stage {stage}")
    emit(as_json, view, payment_text(view))
    return 0


def record_text(record: WebhookRecord, payload: bool) -> str:
    fields = record.to_json()
    lines = [f"{key:<11} {value}" for key, value in fields.items() if value is not None]
    if payload:
        try:
            pretty = json.dumps(json.loads(record.payload), indent=2)
        except ValueError:
            pretty = record.payload
        lines.append("payload")
        lines.append(pretty)
    return "\n".join(lines)


@cli.command()
@click.argument("webhook_id")
@click.option("--payload", is_flag=True, help="Include the stored raw payload.")
@common_options
def show(webhook_id: str, payload: bool, stage: str, as_json: bool) -> int:
    """Show one webhook record: status, attempts, last error, event and source."""
    record = resolve(stage).store().get(webhook_id)
    if record is None:
        raise OpsError(f"no webhook record {webhook_id!r} in stage {stage}")
    document = record.to_json()
    if payload:
        document["payload"] = record.payload
    emit(as_json, document, record_text(record, payload))
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


@cli.command(name="list")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many, newest first.")
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


@cli.command()
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
    if dry_run:
        emit(as_json, {"dryRun": True, "wouldQueue": [r.to_json() for r in chosen], "missing": missing},
             "\n".join([f"would replay {r.webhook_id} ({r.source} {r.event_type}, {r.status})" for r in chosen]
                       + [f"not found: {m}" for m in missing]) or "nothing to replay")
        return 1 if missing else 0
    with progress_bar(len(chosen), "replaying", as_json) as advance:
        result = records.replay(store, target.queue(), chosen, advance)
    result.missing.extend(missing)
    reopened = f" ({len(result.reopened)} reopened)" if result.reopened else ""
    text = [f"queued {len(result.queued)} webhook(s) for processing{reopened}"]
    text += [f"not found: {m}" for m in result.missing]
    emit(as_json, result.to_json(), "\n".join(text))
    return 1 if result.missing else 0


@cli.command()
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
    text += [f"  {letter.webhook_id or '(not a webhook message)'} {letter.status or ''}".rstrip() for letter in letters]
    emit(as_json, {"dryRun": dry_run, "count": len(letters), "messages": [m.to_json() for m in letters]},
         "\n".join(text))
    return 0
