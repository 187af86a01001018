"""Fault injection: many webhooks through the real handlers while AWS calls fail, time out or crash.

Everything runs for real: the Chalice app's handlers (through chalice's test client), moto_server
over HTTP (in a thread, so DynamoDB Streams work), Lambda's pollers as :mod:`devstack` models
them. Faults are injected inside botocore, at the app's own clients, so every line of our code
above the wire runs as in production:

- ``error`` / ``throttle``: the call fails before it reaches AWS (nothing happened);
- ``timeout``: the call reached AWS and took effect, but the caller sees a read timeout;
- ``crash``: the call took effect, then the Lambda dies on the spot (a :class:`Crash` that no
  ``except Exception`` can swallow), so nothing after it runs: a crash between two steps.

A simulated provider retries every non-2xx with backoff, as Stripe and the others do, and gives up
after a few days' worth of attempts. At the end the invariants of DESIGN.md are checked.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import runtime
from chalicelib.timestamps import iso_timestamp
from devstack.events import sqs_event, stream_event
from tests.reliability.judge import Outcome, judge


class Crash(BaseException):
    """The Lambda process dies: no handler of ours may catch it (it is not an ``Exception``)."""


@dataclass(frozen=True)
class Fault:
    """Fail ``operation`` (e.g. ``"dynamodb.PutItem"``) on every ``every``-th call from ``start``.

    ``match`` narrows it to calls whose serialized request body contains the text,
    so a site that shares an operation with another (record read vs. record finish) can be hit
    alone.
    """

    operation: str
    kind: str  # error | throttle | timeout | crash
    every: int = 3
    start: int = 1
    match: str | None = None

    def hits(self, call_number: int) -> bool:
        return call_number >= self.start and (call_number - self.start) % self.every == 0


@dataclass
class FaultInjector:
    faults: tuple[Fault, ...]
    counts: Counter[Fault] = field(default_factory=Counter)
    injected: Counter[Fault] = field(default_factory=Counter)

    def before(self, service: str, model: Any, params: Any, context: dict[str, Any], **_: Any) -> None:
        operation = f"{service}.{model.name}"
        candidates = [f for f in self.faults if f.operation == operation]
        if not candidates:
            return
        body = params.get("body", b"") if isinstance(params, dict) else b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        for fault in candidates:
            if fault.match is not None and fault.match not in text:
                continue
            self.counts[fault] += 1
            if not fault.hits(self.counts[fault]):
                continue
            self.injected[fault] += 1
            if fault.kind in ("error", "throttle"):
                code = "ThrottlingException" if fault.kind == "throttle" else "InternalServerError"
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)
            context["injected_after_call"] = fault.kind  # the call goes through, then it strikes

    def after(self, service: str, model: Any, context: dict[str, Any], **_: Any) -> None:
        kind = context.pop("injected_after_call", None)
        if kind == "crash":
            raise Crash(f"{service}.{model.name}")
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url="injected")

    @contextmanager
    def installed(self) -> Iterator[None]:
        aws = runtime.services().aws
        services = ("dynamodb", "sqs", "sns", "secretsmanager")
        for service in services:
            events = getattr(aws, service).meta.events
            events.register("before-call", self._bind(self.before, service), unique_id=f"faults-before-{service}")
            events.register("after-call", self._bind(self.after, service), unique_id=f"faults-after-{service}")
        try:
            yield
        finally:
            for service in services:
                events = getattr(aws, service).meta.events
                events.unregister("before-call", unique_id=f"faults-before-{service}")
                events.unregister("after-call", unique_id=f"faults-after-{service}")

    @staticmethod
    def _bind(hook: Callable[..., None], service: str) -> Callable[..., None]:
        def bound(**kwargs: Any) -> None:
            hook(service, **kwargs)

        return bound


@dataclass
class Delivery:
    source: str
    body: bytes
    headers: dict[str, str]
    key: str
    """Identity of the provider event (a retry or a duplicate delivery shares it)."""
    genuine: bool = True
    attempts: int = 0
    acked: bool = False
    webhook_ids: tuple[str, ...] = ()


class Pipeline:
    """Drives the app like API Gateway, Lambda's pollers and EventBridge would."""

    MAX_PROVIDER_ATTEMPTS = 8

    def __init__(self, client: Any, resources: Any, session: Any) -> None:
        self.client = client
        self.resources = resources
        self.sqs = session.client("sqs")
        self.dynamodb = session.client("dynamodb")
        self.streams = session.client("dynamodbstreams")
        self._stream_position: dict[str, str] = {}
        self.unaudited: list[dict[str, Any]] = []
        """Stream records the audit handler has not got through yet (retried, as Lambda does)."""
        self.unenqueued: list[dict[str, Any]] = []
        """Stream records the outbox has not got through yet (its own mapping, its own position)."""
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.crashes = 0

    # -- the provider side ------------------------------------------------------------------
    def deliver(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            response = self.client.http.post(f"/webhook/{delivery.source}", body=delivery.body,
                                             headers=delivery.headers)
        except Crash:
            self.crashes += 1
            return  # API Gateway answers 502: the provider will retry
        if 200 <= response.status_code < 300:
            delivery.acked = True
            if delivery.source == "adyen":
                delivery.webhook_ids = tuple(response.headers["X-Webhook-Ids"].split(","))
            else:
                delivery.webhook_ids = (json.loads(response.body)["webhookId"],)
        elif response.status_code < 500 and delivery.genuine:
            raise AssertionError(f"a genuine delivery was refused: {response.status_code} {response.body[:200]!r}")

    # -- Lambda's SQS poller ------------------------------------------------------------------
    def process_queue(self) -> int:
        handled = 0
        for _ in range(200):
            messages = self.sqs.receive_message(
                QueueUrl=self.resources.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return handled
            handled += len(messages)
            try:
                result = self.client.lambda_.invoke("process_webhooks",
                                                    sqs_event(messages, self.resources.queue_arn)).payload
                failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
            except Crash:
                self.crashes += 1
                failed = {message["MessageId"] for message in messages}  # the batch comes back whole
            for message in messages:
                if message["MessageId"] in failed:
                    # The visibility timeout runs out at once (simulated time); SQS counts the receive.
                    self.sqs.change_message_visibility(QueueUrl=self.resources.queue_url,
                                                       ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
                else:
                    self.sqs.delete_message(QueueUrl=self.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError("the processing queue never drained")

    # -- Lambda's DynamoDB Streams poller --------------------------------------------------------
    def _stream_records(self) -> list[dict[str, Any]]:
        arn = self.resources.table_stream_arn
        records: list[dict[str, Any]] = []
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            after = self._stream_position.get(shard_id)
            kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
            if after:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
            else:
                kwargs.update(ShardIteratorType="TRIM_HORIZON")
            iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in page["Records"]:
                    records.append(record)
                    self._stream_position[shard_id] = record["dynamodb"]["SequenceNumber"]
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return records

    def follow_stream(self, attempts: int = 5) -> None:
        """Both of the stream's mappings: the outbox (new webhooks to the queue) and the audit, each
        at its own position, each retried from its first reported failure as the event source does."""
        fresh = self._stream_records()
        for record in fresh:
            image_new = record["dynamodb"].get("NewImage", {})
            image_old = record["dynamodb"].get("OldImage", {})
            if image_new.get("itemType", {}).get("S") == "webhook":
                old = image_old.get("status", {}).get("S", "-")
                new = image_new.get("status", {}).get("S")
                self.transitions[(image_new["pk"]["S"], f"{old}->{new}")] += 1
        self.unenqueued.extend(fresh)
        self.unaudited.extend(fresh)
        self._drain(self.unenqueued, "enqueue_new_webhooks", attempts)
        self._drain(self.unaudited, "audit_changes", attempts)

    def _drain(self, pending: list[dict[str, Any]], handler: str, attempts: int) -> None:
        for _ in range(attempts):
            if not pending:
                return
            batch = pending[:100]
            try:
                event = stream_event(batch, self.resources.table_stream_arn)
                result = self.client.lambda_.invoke(handler, event).payload
                failures = [f["itemIdentifier"] for f in result["batchItemFailures"]]
            except Crash:
                self.crashes += 1
                continue
            if not failures:
                del pending[: len(batch)]
                continue
            first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] == failures[0])
            del pending[:first]
        # Still failing: the shard waits (in AWS, until the record ages out to the on-failure queue).

    def requeue_received(self) -> None:
        """The operator's last resort (``ops requeue --scan``): send every record still ``received``."""
        from ops import requeue

        services = runtime.services()
        try:
            requeue.by_scan(services.store, services.queue, iso_timestamp(time.time() + 1))
        except (Crash, ClientError, ReadTimeoutError):
            self.crashes += 1

    # -- reading the outcome ----------------------------------------------------------------------
    def records(self) -> dict[str, dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": self.resources.table_name}
        while True:
            page = self.dynamodb.scan(**kwargs)
            for item in page["Items"]:
                if item.get("itemType", {}).get("S") == "webhook":
                    items[item["pk"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dead_letters(self) -> list[str]:
        ids: list[str] = []
        for _ in range(100):
            messages = self.sqs.receive_message(QueueUrl=self.resources.dlq_url,
                                                MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return ids
            ids.extend(json.loads(m["Body"]).get("webhookId", "?") for m in messages)
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.resources.dlq_url, ReceiptHandle=message["ReceiptHandle"])
        return ids


def run_scenario(
    name: str,
    pipeline: Pipeline,
    deliveries: list[Delivery],
    faults: tuple[Fault, ...],
    alerts: Callable[[], list[dict[str, Any]]],
    published: Callable[[], list[dict[str, Any]]],
    seed: int = 7,
) -> Outcome:
    """Deliver everything under ``faults``, let the system settle with faults still on, then
    lift them and let the stream, the queue and an operator's requeue finish, as time passing in
    production would."""
    rng = random.Random(seed)
    injector = FaultInjector(faults)
    with injector.installed():
        for round_number in itertools.count():
            pending = [d for d in deliveries if not d.acked and d.attempts < pipeline.MAX_PROVIDER_ATTEMPTS]
            if not pending or round_number > 40:
                break
            rng.shuffle(pending)
            for delivery in pending:
                pipeline.deliver(delivery)
            pipeline.follow_stream()
            pipeline.process_queue()
    # Faults are transient: afterwards the stream (its records kept 24 h) and the queue catch up;
    # then an operator's `ops requeue --scan` picks up whatever is still `received` (counted).
    for _ in range(3):
        pipeline.follow_stream()
        pipeline.process_queue()
    pipeline.follow_stream()
    records = pipeline.records()
    acked = {webhook_id for d in deliveries if d.acked for webhook_id in d.webhook_ids}
    stuck = sorted(w for w in acked if records.get(w, {}).get("status", {}).get("S") == "received")
    for _ in range(3):
        pipeline.requeue_received()
        pipeline.process_queue()
        pipeline.follow_stream()
    outcome = judge(name, pipeline, deliveries, injector, alerts(), published())
    outcome.needed_requeue = len(stuck)
    return outcome
