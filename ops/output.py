"""How ops commands print: one JSON document with --json, else text; progress bars on stderr.

Also the text views of a payment and of a webhook record, which more than one command shows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from chalicelib.webhooks.record import WebhookRecord


def emit(as_json: bool, document: Any, text: str) -> None:
    """The command's result on stdout: ``document`` as JSON, or ``text`` for a person."""
    click.echo(json.dumps(document, indent=2) if as_json else text)


@contextmanager
def progress_bar(total: int | None, label: str, hidden: bool) -> Iterator[Callable[[int], None]]:
    """A bar on stderr when it is a terminal (tqdm hides itself otherwise) and not --json."""
    from tqdm import tqdm

    # leave=True: the bar's final line (how many, how long) stays on the terminal once it is done.
    with tqdm(total=total, desc=label, unit="msg", file=sys.stderr, disable=True if hidden else None,
              leave=True) as bar:
        yield bar.update


def payment_text(view: dict[str, Any]) -> str:
    lines = [f"payment {view['paymentKey']}: {view['status']}"]
    if view.get("source"):  # the payment is the source's own: say which provider's id it is
        lines.append(f"  source   {view['source']} ({view.get('provider')} payment {view.get('providerPaymentId')})"
                     + (", written before payments were keyed by source" if view.get("legacyRecord") else ""))
    if view.get("amountDisplay"):
        lines.append(f"  amount   {view['amountDisplay']} {view['currency']}"
                     + (f", refunded {view['refundedDisplay']}" if view.get("refundedAmount") else ""))
    shown = view.get("amountsDisplay") or {}
    if view.get("amounts"):
        lines.append("  amounts  " + ", ".join(
            f"{kind} {shown.get(kind) or value}" for kind, value in view["amounts"].items()))
    if view.get("feeCurrency") and view["feeCurrency"] != view.get("currency"):
        lines.append(f"  fees in  {view['feeCurrency']}")
    context = [f"{name} {view[name]}" for name in ("account", "livemode") if view.get(name) is not None]
    if context:
        lines.append("  context  " + ", ".join(context))
    references = view.get("references") or {}
    if references:
        lines.append("  refs     " + ", ".join(f"{name} {value}" for name, value in sorted(references.items())))
    if view.get("lastReason"):
        reason = view["lastReason"]
        lines.append(f"  reason   {reason['reason']} ({reason['kind']} {reason['status']}, {reason['occurredAt']})")
    for fee in view.get("fees", []):
        settled = (f", settled {fee['settlementAmount']} {fee['settlementCurrency']} at {fee.get('exchangeRate')}"
                   if fee.get("settlementCurrency") else "")
        lines.append(f"  fee      {fee['movement']} fee {fee.get('feeDisplay') or fee.get('fee')} net "
                     f"{fee.get('netDisplay') or fee.get('net')} {fee['currency']}{settled}")
    for capture in view.get("captures", []):
        lines.append(f"  capture  {capture['captureId']} {capture['status']} {capture.get('amount')}")
    for refund in view.get("refunds", []):
        lines.append(f"  refund   {refund['refundId']} {refund['status']} {refund.get('amount')}")
    for dispute in view.get("disputes", []):
        inquiry = " (inquiry)" if dispute.get("inquiry") else ""
        lines.append(f"  dispute  {dispute['disputeId']} {dispute['status']}{inquiry}")
    for reversal in view.get("reversals", []):
        lines.append(f"  reversal {reversal['reversalId']} {reversal['status']} {reversal.get('amount')}")
    for entry in view.get("history", []):
        effect = f"-> {entry.get('paymentStatus')}" if entry.get("changed") else "(no change)"
        lines.append(f"  history  {entry.get('occurredAt', '')} {entry.get('providerEventType', '')} "
                     f"{entry.get('status', '')} {effect} [{entry.get('webhookId', '')}]"
                     + (f" ({entry['reason']})" if entry.get("reason") else ""))
    return "\n".join(lines)


def record_text(record: WebhookRecord, payload: bool) -> str:
    fields = record.to_json()
    # The inspector's fields (headers, attempt history) get lines of their own below, not a repr.
    headers, history = fields.pop("headers", {}), fields.pop("attemptLog", [])
    lines = [f"{key:<11} {value}" for key, value in fields.items() if value is not None]
    for entry in history:
        error = f": {entry['error']}" if entry.get("error") else ""
        lines.append(f"{'attempt':<11} {entry.get('at', '')} {entry.get('outcome', '')}{error}")
    for name, value in headers.items():
        lines.append(f"{'header':<11} {name}: {value}")
    if payload:
        try:
            pretty = json.dumps(json.loads(record.payload), indent=2)
        except ValueError:
            pretty = record.payload
        lines.append("payload")
        lines.append(pretty)
    return "\n".join(lines)
