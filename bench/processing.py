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
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.report import Row, budget_row

FIGURE = "4 processing"
BUDGET = 3.0
BATCH = 10
PROVIDERS = ("stripe", "square", "adyen", "standard")
IGNORED = {"stripe": "customer.created"}


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
    for service in ("dynamodb", "sqs", "sns", "secretsmanager"):
        client = getattr(aws, service)
        client.meta.events.register(
            "before-call", lambda model, _service=service, **_: calls.update([f"{_service}.{model.name}"]),
            unique_id=f"bench-count-{service}",
        )


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


def _run_outbox(client: Any, session: Any, resources: Any) -> None:
    """The outbox (``enqueue_new_webhooks``) queues what the receiver stored, as the stream would
    have it do. Its calls are not counted: figure 4 is processing."""
    _run_stream_consumer(client, session, resources, "enqueue_new_webhooks")


def measure(payments_per_provider: int, fresh_container_per_batch: bool) -> dict[str, Any]:
    from chalicelib import runtime
    from devstack.events import sqs_event

    with _emulated() as (client, session, resources):
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
            batches, messages_handled, failures = 0, 0, 0
            runtime.reset()
            _count_calls(calls)
            while True:
                messages = sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=BATCH,
                                               AttributeNames=["All"], VisibilityTimeout=300).get("Messages", [])
                if not messages:
                    break
                if fresh_container_per_batch and batches:
                    runtime.reset()
                    _count_calls(calls)
                result = client.lambda_.invoke("process_webhooks", sqs_event(messages, resources.queue_arn)).payload
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
