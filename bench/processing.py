"""Figure 4: AWS calls per processed webhook, over full SQS batches of ten.

Payment life cycles of four providers (Stripe, Square, Adyen, Standard Webhooks: the ``ops``
sample catalog's ``LIFECYCLES``, plus a non-payment event now and then, which is ``ignored``) are
received through the app's route, then handed to the ``process_webhooks`` handler ten messages at
a time, as Lambda's SQS poller does with ``batch_size=10``, on moto. The events of one payment are
spread over different batches (all first events, then all second events...), so most events
follow up a payment stored by an earlier batch. Calls are counted with botocore ``before-call``
hooks on the app's clients, two ways:

- one container for the whole run (its payment cache warm, as a busy processor's is);
- a new container for every batch: nothing cached, the worst case, and the budgeted figure.

The read units those calls cost are counted from what they asked for and what came back (figure
6's DynamoDB read line), and the log lines are written as Lambda has them written in prod: with the
trace header Lambda sets on every invocation of a traced function, unsampled, as 99 % of prod's are.
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from bench.report import Row, budget_row

T = TypeVar("T")
FIGURE = "4 processing"
BUDGET = 3.0
BATCH = 10
PROVIDERS = ("stripe", "square", "adyen", "standard")
IGNORED = {"stripe": "customer.created"}
CLIENTS = ("dynamodb", "sqs", "sns", "secretsmanager")
"""The app's clients the processor calls, which the run counts and times."""
READ_UNIT_BYTES = 4096
UNSAMPLED_TRACE_HEADER = "Root=1-674c8a2e-4f1d2c3b5a69788796a5b4c3;Parent=53995c3f42cd8ad8;Sampled=0"
"""What Lambda puts in ``_X_AMZN_TRACE_ID`` for an invocation X-Ray does not record (prod samples
1 %): the processor's and the audit's lines are measured with it, as they are written there."""


class _CountingSink:
    """Stands in for stdout: counts the bytes of the log lines written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        return None


@contextmanager
def _emulated() -> Iterator[tuple[Any, Any, Any]]:
    """moto in this process, the local stage's resources, the app's test client."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack
    from tests import samples

    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "STAGE": "local"})
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PROCESSING_QUEUE_URL"):
        os.environ.pop(name, None)
    try:
        with mock_aws():
            session = boto3.session.Session()
            resources = ensure_stack(session, Settings.from_environment(), samples.SOURCES)
            os.environ.update(resources.environment())
            runtime.reset()
            from app import app

            with Client(app, stage_name="local") as client:
                yield client, session, resources
    finally:
        runtime.reset()
        os.environ.clear()
        os.environ.update(saved)


def bench_payment_id(provider: str, number: int) -> str:
    """A stable payment id in each provider's own format (Adyen refuses a pspReference that is not
    16 upper-case letters and digits; Standard Webhooks samples use ``pay_`` ids)."""
    if provider == "adyen":
        return f"BENCH{number:011d}"
    payment_id = f"{provider[:2]}bench{number:04d}"
    return f"pay_{payment_id}" if provider == "standard" else payment_id


def deliveries(payments_per_provider: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Signed deliveries: step one of every payment's life cycle, then step two, and so on."""
    from ops import samples as catalog
    from ops.delivery import SigningMaterial, sign
    from tests import samples

    materials = {provider: SigningMaterial.from_source(samples.SOURCES[provider], provider) for provider in PROVIDERS}
    steps = max(len(catalog.LIFECYCLES[provider]) for provider in PROVIDERS)
    built: list[tuple[str, bytes, dict[str, str]]] = []
    for step in range(steps):
        for number in range(payments_per_provider):
            for provider in PROVIDERS:
                lifecycle = catalog.LIFECYCLES[provider]
                if step >= len(lifecycle):
                    continue
                options = catalog.SampleOptions(payment_id=bench_payment_id(provider, number))
                delivery = sign(catalog.build(provider, lifecycle[step], options), materials[provider])
                built.append((provider, delivery.body, delivery.headers))
                if provider in IGNORED and number % 3 == 0 and step == 0:
                    other = sign(catalog.build(provider, IGNORED[provider]), materials[provider])
                    built.append((provider, other.body, other.headers))
    return built


def _count_calls(calls: Counter[str]) -> None:
    """Hook a counter onto the app's clients as they are now (one container)."""
    from chalicelib import runtime

    aws = runtime.services().aws
    for service in CLIENTS:
        client = getattr(aws, service)
        client.meta.events.register(
            "before-call", lambda model, _service=service, **_: calls.update([f"{_service}.{model.name}"]),
            unique_id=f"bench-count-{service}",
        )


def read_units(params: dict[str, Any], parsed: dict[str, Any]) -> float:
    """The read units one ``GetItem`` or ``BatchGetItem`` costs: each item read is rounded up to 4 KB
    (a batch's items one by one, as separate reads), a key found missing is counted at the minimum
    of one read, unprocessed keys are not counted, and an eventually consistent read is half
    ([DynamoDB read and write operations](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html))."""
    from bench.calls import dynamodb_item_bytes

    def units(items: list[dict[str, Any]], asked: int, unprocessed: int, consistent: bool) -> float:
        found = sum(max(1, math.ceil(dynamodb_item_bytes(item) / READ_UNIT_BYTES)) for item in items)
        return (found + max(0, asked - len(items) - unprocessed)) * (1.0 if consistent else 0.5)

    if "RequestItems" not in params:  # GetItem
        item = parsed.get("Item")
        return units([item] if item else [], 1, 0, bool(params.get("ConsistentRead")))
    total = 0.0
    for table, request in params["RequestItems"].items():
        unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
        total += units(parsed.get("Responses", {}).get(table, []), len(request["Keys"]), unprocessed,
                       bool(request.get("ConsistentRead")))
    return total


def _count_read_units(reads: Counter[str]) -> None:
    """Hook a read-unit counter onto the app's DynamoDB client as it is now (one container)."""
    from chalicelib import runtime

    def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_read_params"] = params

    def count(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        reads.update({"RRU": read_units(context["bench_read_params"], parsed)})

    client = runtime.services().aws.dynamodb
    for operation in ("GetItem", "BatchGetItem"):
        client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", keep_params,
                                    unique_id=f"bench-read-params-{operation}")
        client.meta.events.register(f"after-call.dynamodb.{operation}", count,
                                    unique_id=f"bench-read-units-{operation}")


def _stream_records(session: Any, resources: Any) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, oldest first."""
    from botocore.config import Config

    # botocore's account-based endpoint (<account>.streams-ddb...) is one moto does not route.
    streams = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = resources.table_stream_arn
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=100)
            records.extend(response.get("Records", []))
            iterator = response.get("NextShardIterator") if response.get("Records") else None
    return records


def _run_stream_consumer(client: Any, session: Any, resources: Any, function: str) -> int:
    """Hand the table stream's records to ``function`` as Lambda would (batches of 100); how many."""
    from devstack.events import stream_event

    records = _stream_records(session, resources)
    for start in range(0, len(records), 100):
        event = stream_event(records[start:start + 100], resources.table_stream_arn)
        result = client.lambda_.invoke(function, event).payload
        assert result == {"batchItemFailures": []}, (function, result)
    return len(records)


class AwsCallTimer:
    """The time the clients it is attached to spend in AWS calls, each call from its first event to
    its last (botocore's public hooks: parameters provided, then answered or failed). With moto in
    this process that includes the emulator's work, which is what makes the rest, a handler's time
    outside its calls, its own CPU time: what Lambda bills on top of the calls' latency (figure 6
    stretches it to the function's CPU share)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def attach(self, client: Any) -> None:
        def started(context: dict[str, Any], **_: Any) -> None:
            context["bench_call_started"] = time.perf_counter()

        def ended(context: dict[str, Any], **_: Any) -> None:
            self.seconds += time.perf_counter() - context.pop("bench_call_started")

        client.meta.events.register("provide-client-params", started, unique_id="bench-call-started")
        client.meta.events.register("after-call", ended, unique_id="bench-call-ended")
        client.meta.events.register("after-call-error", ended, unique_id="bench-call-failed")


def _instrument(calls: Counter[str], reads: Counter[str], timer: AwsCallTimer) -> None:
    """Hook the run's counters onto the app's clients as they are now (one container): its calls,
    their read units, and the time spent in them."""
    from chalicelib import runtime

    _count_calls(calls)
    _count_read_units(reads)
    aws = runtime.services().aws
    for service in CLIENTS:
        timer.attach(getattr(aws, service))


def own_milliseconds(timer: AwsCallTimer, call: Callable[[], T]) -> tuple[T, float]:
    """``call()``'s result, and the milliseconds it took outside the AWS calls ``timer`` sees."""
    before, started = timer.seconds, time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started - (timer.seconds - before)) * 1000


@contextmanager
def _unsampled_trace() -> Iterator[None]:
    """Invocations as Lambda makes most of prod's: traced, not sampled (see UNSAMPLED_TRACE_HEADER)."""
    from chalicelib.log import TRACE_ID_VARIABLE

    before = os.environ.get(TRACE_ID_VARIABLE)
    os.environ[TRACE_ID_VARIABLE] = UNSAMPLED_TRACE_HEADER
    try:
        yield
    finally:
        if before is None:
            del os.environ[TRACE_ID_VARIABLE]
        else:
            os.environ[TRACE_ID_VARIABLE] = before


def _run_outbox(client: Any, session: Any, resources: Any) -> None:
    """The outbox (``enqueue_new_webhooks``) queues what the receiver stored, as the stream would
    have it do. Its calls are not counted: figure 4 is processing."""
    _run_stream_consumer(client, session, resources, "enqueue_new_webhooks")


def measure(payments_per_provider: int, fresh_container_per_batch: bool) -> dict[str, Any]:
    from chalicelib import runtime
    from devstack.events import sqs_event

    with _emulated() as (client, session, resources), _unsampled_trace():
        stdout = sys.stdout
        sink = sys.stdout = _CountingSink()  # the handlers' log lines: counted for the cost model
        try:
            sent = deliveries(payments_per_provider)
            for source, body, headers in sent:
                response = client.http.post(f"/webhook/{source}", body=body, headers=headers)
                assert response.status_code == 200, response.body
            _run_outbox(client, session, resources)  # the table's stream queues what was stored
            receive_log_bytes, sink.bytes = sink.bytes, 0
            sqs = session.client("sqs")
            calls: Counter[str] = Counter()
            reads: Counter[str] = Counter()
            timer = AwsCallTimer()
            own_ms: list[float] = []
            batches, messages_handled, failures = 0, 0, 0
            runtime.reset()
            _instrument(calls, reads, timer)
            while True:
                messages = sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=BATCH,
                                               AttributeNames=["All"], VisibilityTimeout=300).get("Messages", [])
                if not messages:
                    break
                if fresh_container_per_batch and batches:
                    runtime.reset()
                    _instrument(calls, reads, timer)
                invoke = functools.partial(client.lambda_.invoke, "process_webhooks",
                                           sqs_event(messages, resources.queue_arn))
                invoked, own = own_milliseconds(timer, invoke)
                result = invoked.payload
                own_ms.append(own)
                failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
                failures += len(failed)
                for message in messages:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
                batches += 1
                messages_handled += len(messages)
            # The audit's lines (its own log group, priced apart): every stream record of the run,
            # the webhooks' inserts and final updates and the payments' writes, once each.
            process_log_bytes, sink.bytes = sink.bytes, 0
            stream_records = _run_stream_consumer(client, session, resources, "audit_changes")
            audit_log_bytes = sink.bytes
        finally:
            sys.stdout = stdout
    # A run that processed nothing measures nothing: never a budget met by an empty queue.
    assert messages_handled >= len(sent), (messages_handled, len(sent))
    return {"webhooks": len(sent), "messages": messages_handled, "batches": batches, "failures": failures,
            "calls": dict(sorted(calls.items())), "perWebhook": sum(calls.values()) / max(messages_handled, 1),
            "logBytesPerWebhook": round((receive_log_bytes + process_log_bytes) / max(len(sent), 1)),
            "auditLogBytesPerWebhook": round(audit_log_bytes / max(len(sent), 1)),
            "readUnitsPerWebhook": round(reads["RRU"] / max(messages_handled, 1), 3),
            # The first batch imports what the processor imports lazily: a cold start, not a batch.
            "ownMsPerBatch": round(statistics.median(own_ms[1:] or own_ms), 2),
            "streamRecordsPerWebhook": round(stream_records / max(len(sent), 1), 2)}


def run(quick: bool = False) -> tuple[list[Row], dict[str, Any]]:
    payments = 3 if quick else 8
    warm = measure(payments, fresh_container_per_batch=False)
    cold = measure(payments, fresh_container_per_batch=True)

    def note(result: dict[str, Any]) -> str:
        operations = ", ".join(f"{op} {n / result['messages']:.2f}" for op, n in result["calls"].items())
        failed = f", {result['failures']} failed" if result["failures"] else ""
        return f"{result['messages']} webhooks in {result['batches']} batches{failed}; per webhook: {operations}"

    rows = [
        budget_row(FIGURE, "AWS calls per webhook, batches of 10, a new container every batch",
                   round(cold["perWebhook"], 3), "calls", BUDGET, note(cold)),
        budget_row(FIGURE, "AWS calls per webhook, batches of 10, one warm container",
                   round(warm["perWebhook"], 3), "calls", BUDGET, note(warm)),
    ]
    return rows, {"freshContainerPerBatch": cold, "warmContainer": warm}
