"""Reading the outcome of a fault scenario against DESIGN.md's invariants."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.payments.record import PaymentRecord

if TYPE_CHECKING:
    from tests.reliability.harness import Delivery, FaultInjector, Pipeline


@dataclass
class Outcome:
    scenario: str
    webhooks: int
    acked: int
    lost: list[str]
    double_applied: list[str]
    dead_lettered: int
    unverified_stored: int
    gave_up: int
    injected: int
    problems: list[str]
    forgeries_refused: int = 0
    needed_requeue: int = 0
    """Acked webhooks still ``received`` once the stream and the queue caught up: only an operator's
    ``ops requeue --scan`` got them processed (the queue alone lost track of them)."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.double_applied or self.unverified_stored or self.problems)


def payment_effects(pipeline: Pipeline) -> Counter[str]:
    """How many times each payment event id is recorded as applied, over every payment record."""
    applied: Counter[str] = Counter()
    kwargs: dict[str, Any] = {"TableName": pipeline.resources.table_name}
    while True:
        page = pipeline.dynamodb.scan(**kwargs)
        for item in page["Items"]:
            if item.get("itemType", {}).get("S") == "payment":  # state plain or packed: the record's reader
                applied.update(PaymentRecord.from_item(item).state.to_json().get("applied", []))
        if "LastEvaluatedKey" not in page:
            return applied
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def judge(
    name: str,
    pipeline: Pipeline,
    deliveries: list[Delivery],
    injector: FaultInjector,
    alerts: list[dict[str, Any]],
    published: list[dict[str, Any]],
) -> Outcome:
    from chalicelib.payments.model import event_id_for

    records = pipeline.records()
    dead = pipeline.dead_letters()
    alerted = {alert.get("webhookId") for alert in alerts if alert.get("alert", "").startswith("A webhook failed")}
    acked_ids = {webhook_id for d in deliveries if d.acked for webhook_id in d.webhook_ids}
    genuine_keys = {d.key for d in deliveries if d.genuine}
    lost: list[str] = []
    problems: list[str] = []
    for webhook_id in sorted(acked_ids):
        record = records.get(webhook_id)
        status = record["status"]["S"] if record else None
        if status in ("processed", "ignored"):
            continue
        if status == "failed" and webhook_id in dead and webhook_id in alerted:
            continue
        lost.append(f"{webhook_id}: {status}")
    double = [f"{webhook_id} {transition} x{count}" for (webhook_id, transition), count in pipeline.transitions.items()
              if transition.endswith(("->processed", "->ignored")) and count > 1]
    # The payment effect: every processed webhook's PaymentEvent is folded into its payment
    # exactly once (a lost optimistic-concurrency update would show up as missing) and published
    # at least once (consumers dedupe on the event id).
    effects = payment_effects(pipeline)
    double.extend(f"payment event {event_id} applied x{count}" for event_id, count in effects.items() if count > 1)
    published_ids = {message.get("eventId") for message in published}
    for webhook_id, record in records.items():
        if record["status"]["S"] != "processed":
            continue
        event_id = event_id_for(webhook_id)
        if effects[event_id] == 0:
            lost.append(f"{webhook_id}: processed but its payment effect is missing")
        if event_id not in published_ids:
            lost.append(f"{webhook_id}: processed but its payment event was never published")
    event_ids = {record["eventId"]["S"] for record in records.values()}
    unverified = sum(1 for d in deliveries if not d.genuine and d.key in event_ids and d.key not in genuine_keys)
    by_key: defaultdict[str, int] = defaultdict(int)
    for record in records.values():
        by_key[f'{record["source"]["S"]}:{record["eventId"]["S"]}'] += 1
    problems.extend(f"{key} stored {count} times" for key, count in by_key.items() if count > 1)
    if pipeline.unaudited:
        problems.append(f"{len(pipeline.unaudited)} stream records never audited")
    return Outcome(
        scenario=name,
        webhooks=len(genuine_keys),
        acked=len(acked_ids),
        lost=lost,
        double_applied=double,
        dead_lettered=len(set(dead)),
        unverified_stored=unverified,
        gave_up=sum(1 for d in deliveries if d.genuine and not d.acked),
        forgeries_refused=sum(1 for d in deliveries if not d.genuine and not d.acked),
        injected=sum(injector.injected.values()),
        problems=problems,
    )
