"""``ops send``, ``ops lifecycle`` and ``ops samples``: signed sample webhooks, like ``stripe trigger``."""

from __future__ import annotations

import time
from typing import Any

import click

from chalicelib.webhooks.record import WebhookRecord
from ops import delivery as deliveries
from ops import samples
from ops.cli import common_options, webhook_url
from ops.output import emit, payment_text
from ops.records import WAIT_SECONDS, wait_until_final
from ops.stage import OpsError, StageTarget, resolve


def signing_material(target: StageTarget, source: str) -> tuple[str, deliveries.SigningMaterial]:
    """The provider of ``source`` in the target stage and what signing for it takes."""
    material = target.signing_material(source)
    return material.provider, material


@click.command()
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
    provider, material = signing_material(target, source)
    built = samples.build(provider, event_type, samples.SampleOptions(
        payment_id=payment_id, amount=amount, currency=currency.upper(), event_id=event_id))
    if event_id and built.event_id != event_id:  # e.g. Adyen: the id is derived from the event itself
        click.echo(f"ops: warning: {provider} event ids are derived from the event, so --event-id is ignored; "
                   f"this one's is {built.event_id}", err=True)
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
    # Not strict: ``final`` is empty when we did not wait, and then there is no record to report.
    for webhook_id, record in zip(webhook_ids, final, strict=False):
        if record is None:
            lines.append(f"  {webhook_id}: not found")
        elif record.is_final:
            lines.append(f"  {webhook_id}: {record.status} after {record.attempts} attempt(s)"
                         + (f" ({record.last_error})" if record.last_error else ""))
        elif record.attempts and record.last_error:  # processing runs, and fails: say why, not "is it running?"
            lines.append(f"  {webhook_id}: still {record.status} after {WAIT_SECONDS:.0f} s: failing, "
                         f"{record.attempts} attempt(s) so far, last error: {record.last_error}")
        else:
            lines.append(f"  {webhook_id}: still {record.status} after {WAIT_SECONDS:.0f} s; is `make run` running?")
    emit(as_json, document, "\n".join(lines))
    return 0 if ok else 1


@click.command()
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
    provider, material = signing_material(target, source)
    steps = samples.LIFECYCLES.get(provider)
    if steps is None:
        raise OpsError(f"no life cycle for provider {provider!r}")
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
    sent: list[dict[str, Any]] = []
    for event in sequence:
        answer = deliveries.post(endpoint, deliveries.sign(event, material))
        if not 200 <= answer.status < 300:
            raise OpsError(f"{event.sample} was answered {answer.status} {answer.outcome}")
        webhook_ids.extend(answer.webhook_ids)
        sent.append({"sample": event.sample, "httpStatus": answer.status, "webhookIds": answer.webhook_ids})
    final = wait_until_final(target.store(), webhook_ids, WAIT_SECONDS)
    if not all(record is not None and record.is_final for record in final):
        raise OpsError("not every event was processed in time; is `make run` running?")
    key = f"{source}:{payment_id}"  # payments are keyed by the source that received them
    view = target.payments().get(key)
    document = {"paymentKey": key, "order": order, "sent": sent, "payment": view}
    lines = [f"sent {len(sent)} events of {key} ({order}): " + ", ".join(item["sample"] for item in sent)]
    lines.append(payment_text(view) if view else f"payment {key}: not found")
    emit(as_json, document, "\n".join(lines))
    return 0


@click.command(name="samples")
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


def register(group: click.Group) -> None:
    """Add this module's commands to the CLI (``ops.main.command_group``)."""
    for command in (send, lifecycle, list_samples):
        group.add_command(command)
