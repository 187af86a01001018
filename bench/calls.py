"""Figure 3a: AWS calls per webhook on the ingest path, counted on a real end-to-end run.

The local stack is started exactly as `make run` starts it (``tests.e2e.stack.StackProcess``), with
``PAYMENT_WEBHOOKS_COUNT_AWS_CALLS=1``: inside that process, botocore ``before-call`` hooks on the
app's own clients count every call by the function making it (:mod:`devstack.callcount`), and
``before-send`` hooks count what went on the wire (retries included). Signed deliveries of all five
providers go over HTTP, one at a time, so the route's calls between two readings of the counts
belong to exactly one request:

- a new event;
- a duplicate sent right after the first delivery was answered (its record may still be
  ``received``: then it is queued again, as the ingest path does for a send that may have failed);
- a duplicate sent after the first delivery was processed.

The same run also counts what the processor, the audit and the outbox called (the processor as
the local poller batched the messages: shown for information, figure 4 measures full batches),
and reads the items' sizes back for the cost model.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.report import Row, budget_row
from devstack import callcount
from providers_tooling import all_tooling

FIGURE = "3 ingest"
WRITE_UNITS_ROW = "DynamoDB write request units per new webhook (ingest + processing, indexes included)"
WRITE_UNITS_BUDGET = 3.5
"""Issue #16: half of the 6+ units a new webhook cost before, everything included."""
WRITE_UNIT_BYTES = 1024
INDEX_ENTRY_OVERHEAD_BYTES = 100
"""What DynamoDB adds to the size of every secondary index entry (its developer guide, "Provisioned
throughput considerations for global secondary indexes")."""
# Events that carry a payment, one per provider and round, from each provider's tooling (the
# local stack serves every registered provider under a source of the same name).
NEW_EVENT_SAMPLES = {t.name: t.new_payment_samples for t in all_tooling() if t.new_payment_samples}
SOURCES = tuple(NEW_EVENT_SAMPLES)
SETTLE_SECONDS = 60.0


def _counts(state: dict[str, Any], kind: str = "calls") -> Counter[tuple[str, str, str]]:
    return Counter({(row["function"], row["service"], row["operation"]): row["count"] for row in state[kind]})


def _route_delta(before: dict[str, Any], after: dict[str, Any]) -> Counter[str]:
    delta = _counts(after) - _counts(before)
    return Counter({f"{service}.{operation}": n for (function, service, operation), n in delta.items()
                    if function == callcount.ROUTE_FUNCTION})


def dynamodb_item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it (names plus values), close enough to pick capacity units:
    strings and binary by length, numbers by digits, lists and maps with their 3-byte overhead."""

    def value_size(value: dict[str, Any]) -> int:
        (kind, inner), = value.items()
        if kind == "S":
            return len(inner.encode("utf-8"))
        if kind == "N":
            return (len(inner.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
        if kind == "B":
            return len(inner)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "L":
            return 3 + sum(1 + value_size(element) for element in inner)
        if kind == "M":
            return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in inner.items())
        return sum(len(str(element)) for element in inner)  # sets: close enough

    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def _wait_until_final(store: Any, webhook_ids: set[str], timeout: float = SETTLE_SECONDS) -> set[str]:
    pending = set(webhook_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for webhook_id in list(pending):
            record = store.get(webhook_id)
            if record is not None and record.is_final:
                pending.discard(webhook_id)
        if pending:
            time.sleep(0.2)
    return pending


def units(size: int) -> int:
    """Write units of one write of an item (or index entry) of ``size`` bytes: one per started KB."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def webhook_writes(item: dict[str, Any]) -> dict[str, int]:
    """The sizes one finished webhook record was written with: the ingest put (the item as the
    receiver builds it, rebuilt from the stored one by the record's own code) and the final update
    (billed on the larger of the item before and after). No index entry: the table has no index
    (the stream queues new records, chalicelib/outbox.py)."""
    from chalicelib.webhooks.record import WebhookRecord, WebhookStatus

    stored = WebhookRecord.from_item(item)
    received = dataclasses.replace(
        stored, status=WebhookStatus.RECEIVED, attempts=0, last_error=None, attempt_log=(),
    ).to_item()
    put = dynamodb_item_bytes(received)
    # The same writes as they were before records were compressed (issue #16), for comparison.
    plain = {name: value for name, value in received.items() if name not in ("payloadEncoding", "headersEncoding")}
    plain["payload"] = {"S": stored.payload}
    if stored.headers:
        plain["headers"] = {"M": {name: {"S": value} for name, value in stored.headers.items()}}
    plain_put = dynamodb_item_bytes(plain)
    growth = dynamodb_item_bytes(item) - put  # what the final update adds (the attempt history)
    return {"put": put,
            "final": max(put, dynamodb_item_bytes(item)), "plainPut": plain_put,
            "plainFinal": max(plain_put, plain_put + growth)}


def _item_sizes(target: Any) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """Sizes by item kind (``webhook:<provider>``, ``payment``, ``dedupe``...) and the sizes every
    webhook record was written with (:func:`webhook_writes`)."""
    dynamodb = target.client("dynamodb")
    sizes: dict[str, list[int]] = defaultdict(list)
    writes: list[dict[str, int]] = []
    kwargs: dict[str, Any] = {"TableName": target.table_name}
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            kind = item.get("itemType", {}).get("S", "?")
            label = f"webhook:{item['provider']['S']}" if kind == "webhook" else kind
            sizes[label].append(dynamodb_item_bytes(item))
            if kind == "webhook":
                writes.append(webhook_writes(item))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    by_kind = {label: {"count": len(values), "meanBytes": round(sum(values) / len(values)), "maxBytes": max(values),
                       "meanWriteUnits": round(sum(units(v) for v in values) / len(values), 3)}
               for label, values in sorted(sizes.items())}
    return by_kind, writes


def write_units(measured: dict[str, Any], plain: bool = False) -> dict[str, float]:
    """Write units per new webhook, by write, from the run's counted calls and item sizes.

    Ingest: each PutItem of a new event's request beyond the record's is a marker (the dedupe
    marker; PayPal's transmission marker too), one unit each at their ~200 bytes; the record's put.
    Processing: per webhook, the processor's UpdateItem calls (the final update, billed on the
    larger image), and its PutItem calls (the
    payment record and its aliases) at their stored sizes. A conditional write that fails is billed
    like one that succeeds, so the calls counted are what is billed, whatever their outcome.
    ``plain``: the same writes with the records' payload and headers uncompressed (before #16).
    """
    sizes, writes = measured["itemSizes"], measured["webhookWrites"]
    webhooks = max(measured["webhooksAcked"], 1)
    if not writes:
        return {}
    new = measured["perRequest"].get("new event", [])
    new_webhooks = max(sum(n for n, _ in new), 1)
    puts_per_new = sum(calls.get("dynamodb.PutItem", 0) for _, calls in new) / new_webhooks
    markers = [sizes[kind] for kind in ("dedupe", "transmission") if kind in sizes]
    marker_units = (sum(m["meanWriteUnits"] * m["count"] for m in markers) / sum(m["count"] for m in markers)
                    if markers else 1.0)
    processor = measured["byFunction"].get("process_webhooks", Counter())
    payments = [sizes[kind] for kind in sizes if kind.startswith("payment")]
    payment_units = (sum(p["meanWriteUnits"] * p["count"] for p in payments) / sum(p["count"] for p in payments)
                     if payments else 1.0)

    def mean(values: list[int]) -> float:
        return sum(values) / len(values)

    updates = processor.get("dynamodb.UpdateItem", 0) / webhooks
    figures = {
        "markers": max(puts_per_new - 1, 0) * marker_units,
        "recordPut": mean([units(w["plainPut" if plain else "put"]) for w in writes]),
        "finalUpdate": updates * mean([units(w["plainFinal" if plain else "final"]) for w in writes]),
        "paymentWrites": processor.get("dynamodb.PutItem", 0) / webhooks * payment_units,
    }
    return {name: round(value, 3) for name, value in figures.items()}


def measure(rounds: int) -> dict[str, Any]:
    """Start a counting local stack, send, read the counts; every figure of the run."""
    from ops import samples
    from ops.delivery import post, sign
    from tests.e2e.stack import StackProcess

    saved = dict(os.environ)
    rng = random.Random(7)
    per_request: dict[str, list[tuple[int, Counter[str]]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="payment-webhooks-bench-") as state_dir:
        os.environ[callcount.ENABLE_VARIABLE] = "1"
        stack = StackProcess.start(Path(state_dir))
        try:
            os.environ["PAYMENT_WEBHOOKS_LOCAL_DIR"] = state_dir
            from ops.stage import local_target

            target = local_target()
            materials = {
                source: target.signing_material(source)
                for source in SOURCES
            }
            url = stack.url
            store = target.store()

            def send(source: str, delivery: Any, kind: str | None) -> list[str]:
                before = callcount.read(Path(state_dir))
                answer = post(f"{url}/webhook/{source}", delivery)
                after = callcount.read(Path(state_dir))
                assert 200 <= answer.status < 300, (source, answer.status, answer.body)
                if kind is not None:
                    per_request[kind].append((len(answer.webhook_ids), _route_delta(before, after)))
                return answer.webhook_ids

            def new_delivery(source: str, index: int) -> Any:
                provider = materials[source].provider
                name = NEW_EVENT_SAMPLES[provider][index % len(NEW_EVENT_SAMPLES[provider])]
                return sign(samples.build(provider, name), materials[source])

            # Warm-up, not counted: the sources secret, PayPal's certificate, lazy imports.
            warm = {webhook_id for source in SOURCES for webhook_id in send(source, new_delivery(source, 0), None)}
            _wait_until_final(store, warm)
            start = callcount.read(Path(state_dir))

            acked: set[str] = set()
            first_deliveries: list[tuple[str, Any]] = []
            for index in range(rounds):
                for source in rng.sample(SOURCES, len(SOURCES)):
                    delivery = new_delivery(source, index)
                    acked.update(send(source, delivery, "new event"))
                    send(source, delivery, "duplicate, right after the first was answered")
                    first_deliveries.append((source, delivery))
            unsettled = _wait_until_final(store, acked)
            for source, delivery in first_deliveries:
                send(source, delivery, "duplicate, after the first was processed")
            time.sleep(2.0)  # the re-queued duplicates' messages reach the processor (and are skipped)
            end = callcount.read(Path(state_dir))
            sizes, webhook_sizes = _item_sizes(target)
        finally:
            stack.interrupt()
            os.environ.clear()
            os.environ.update(saved)
    by_function: dict[str, Counter[str]] = defaultdict(Counter)
    for (function, service, operation), n in (_counts(end) - _counts(start)).items():
        by_function[function][f"{service}.{operation}"] += n
    wire = sum((_counts(end, "requests") - _counts(start, "requests")).values())
    return {
        "perRequest": per_request,
        "byFunction": by_function,
        "webhooksAcked": len(acked),
        "unsettled": sorted(unsettled),
        "callsMade": sum(sum(c.values()) for c in by_function.values()),
        "httpRequestsSent": wire,
        "itemSizes": sizes,
        "webhookWrites": webhook_sizes,
    }


def summarize(measured: dict[str, Any]) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    details: dict[str, Any] = {"itemSizes": measured["itemSizes"], "webhooksAcked": measured["webhooksAcked"],
                               "callsMade": measured["callsMade"], "httpRequestsSent": measured["httpRequestsSent"],
                               "unsettled": measured["unsettled"], "ingest": {}, "byFunction": {}}
    kinds = ("new event", "duplicate, right after the first was answered", "duplicate, after the first was processed")
    for kind in kinds:
        requests = measured["perRequest"].get(kind, [])
        if not requests:
            rows.append(Row(FIGURE, f"AWS calls per webhook: {kind}", 0.0, "calls", "budget", 2.0, None, "<= 2", None,
                            "not observed in this run"))
            continue
        per_webhook = [sum(calls.values()) / max(webhooks, 1) for webhooks, calls in requests]
        operations: Counter[str] = Counter()
        for _, calls in requests:
            operations.update(calls)
        shapes = Counter(" + ".join(f"{n} {op}" for op, n in sorted(calls.items())) or "none" for _, calls in requests)
        worst, mean = max(per_webhook), sum(per_webhook) / len(per_webhook)
        note = (f"{len(requests)} requests, mean {mean:.2f} per webhook; seen: "
                + "; ".join(f"{shape} ({n}x)" for shape, n in shapes.most_common()))
        rows.append(budget_row(FIGURE, f"AWS calls per webhook (most seen): {kind}", worst, "calls", 2, note))
        details["ingest"][kind] = {"requests": len(requests), "meanPerWebhook": round(mean, 3), "maxPerWebhook": worst,
                                   "operations": dict(operations), "shapes": dict(shapes)}
    for function, calls in measured["byFunction"].items():
        details["byFunction"][function] = dict(sorted(calls.items()))
    processor = measured["byFunction"].get("process_webhooks", Counter())
    if measured["webhooksAcked"]:
        per_webhook = sum(processor.values()) / measured["webhooksAcked"]
        rows.append(Row("4 processing", "AWS calls per webhook, as the local poller batched them (e2e)",
                        round(per_webhook, 2), "calls", "-", None, None, "info", None,
                        "small batches and re-queued duplicates included; figure 4 below measures full batches"))
    figures = write_units(measured)
    if figures:
        before = write_units(measured, plain=True)
        details["writeUnits"] = {**figures, "total": round(sum(figures.values()), 3),
                                 "totalUncompressed": round(sum(before.values()), 3)}
        writes = measured["webhookWrites"]
        mean_put = sum(w["put"] for w in writes) / len(writes)
        mean_plain = sum(w["plainPut"] for w in writes) / len(writes)
        rows.append(budget_row(FIGURE, WRITE_UNITS_ROW, round(sum(figures.values()), 2), "WRU", WRITE_UNITS_BUDGET,
                               "; ".join(f"{name} {value:g}" for name, value in figures.items())
                               + f"; webhook put {mean_put:.0f} B mean ({mean_plain:.0f} B uncompressed, "
                               f"which would cost {sum(before.values()):.2f} WRU)"))
    rows.append(Row(FIGURE, "HTTP requests on the wire per API call (retries), whole e2e run",
                    round(measured["httpRequestsSent"] / max(measured["callsMade"], 1), 3),
                    "x", "-", None, None, "info",
                    None, f"{measured['callsMade']} calls, {measured['httpRequestsSent']} requests"))
    return rows, details


def run(quick: bool = False) -> tuple[list[Row], dict[str, Any]]:
    return summarize(measure(rounds=2 if quick else 6))
