"""The named fault scenarios, the generated traffic, and the stack they run on."""

from __future__ import annotations

import json
import os
import random
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests import samples
from tests.reliability.harness import Delivery, Fault, Pipeline, run_scenario
from tests.reliability.judge import Outcome

PUT = "dynamodb.PutItem"
UPDATE = "dynamodb.UpdateItem"
SEND = "sqs.SendMessage"
SEND_BATCH = "sqs.SendMessageBatch"
SECRET = "secretsmanager.GetSecretValue"
PUBLISH = "sns.Publish"
PUBLISH_BATCH = "sns.PublishBatch"  # the processor's payment events
BATCH_GET = "dynamodb.BatchGetItem"
RECORDS_READ = '"pk": {"S": "wh_'  # the processor's first call: read the batch's webhook records
PAYMENTS_READ = '"pk": {"S": "payment#'  # ...then the payments it has not seen (best effort)
FINISH = "SET #s = :status"  # the processor's last write: count the attempt, mark the record final
PROCESSED_FINISH = '":status": {"S": "processed"}'  # ...when it marks it processed (not failed)
WEBHOOK_PUT = '"itemType": {"S": "webhook"}'  # the receiver's put (not the processor's payment writes)
PAYMENT_PUT = '"itemType": {"S": "payment"}'  # the processor's write of a payment record


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[Fault, ...]
    description: str
    requeue_may_rescue: bool = False
    """True where losing track on the queue is expected (marking a record failed can fail too):
    everywhere else an acked webhook must get processed through the queue alone."""


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("no faults", (), "the baseline"),
    Scenario("secrets read errors", (Fault(SECRET, "error", every=2),), "configuration unreadable on some cold starts"),
    Scenario("secrets read throttled", (Fault(SECRET, "throttle", every=2),), ""),
    Scenario("conditional put errors", (Fault(PUT, "error"),), "storage refuses every 3rd write"),
    Scenario("conditional put throttled", (Fault(PUT, "throttle", every=3, start=2),), ""),
    Scenario("conditional put times out after writing", (Fault(PUT, "timeout"),),
             "stored, but the receiver never hears back"),
    Scenario("crash after the put", (Fault(PUT, "crash", match=WEBHOOK_PUT),),
             "stored, never answered: the table stream queues it anyway"),
    # The sends are the outbox's now (the receiver sends only an old duplicate): its stream batch
    # is retried from the first failed send, so nothing stored is skipped.
    Scenario("outbox send errors", (Fault(SEND, "error"), Fault(SEND_BATCH, "error")), "the enqueuer's sends fail"),
    Scenario("outbox send throttled", (Fault(SEND, "throttle", every=2), Fault(SEND_BATCH, "throttle", every=2)),
             "SQS or KMS throttles the enqueuer"),
    Scenario("outbox send times out after sending", (Fault(SEND, "timeout"), Fault(SEND_BATCH, "timeout")),
             "queued, but the enqueuer reports a failure: sent again"),
    Scenario("outbox crashes after the send", (Fault(SEND, "crash"), Fault(SEND_BATCH, "crash")),
             "the enqueuer dies mid-batch: the stream hands it the batch again"),
    # When the record cannot even be read, it cannot be marked failed either: a message that runs
    # out of receives is dead-lettered with its record still `received` (the DLQ alarm; ops requeue).
    Scenario("record read errors", (Fault(BATCH_GET, "error", match=RECORDS_READ),),
             "the processor cannot load records", requeue_may_rescue=True),
    Scenario("crash after reading the records", (Fault(BATCH_GET, "crash", match=RECORDS_READ),),
             "the processor dies mid-batch", requeue_may_rescue=True),
    Scenario("payment read errors", (Fault(BATCH_GET, "error", match=PAYMENTS_READ),),
             "the batch's payments cannot be read ahead"),
    Scenario("record update errors", (Fault(UPDATE, "error", match=FINISH),),
             "the final status cannot be written", requeue_may_rescue=True),
    Scenario("record update times out after writing", (Fault(UPDATE, "timeout", match=FINISH),), ""),
    Scenario("crash after the final update", (Fault(UPDATE, "crash", match=FINISH),),
             "done, but the message is not deleted"),
    Scenario("alert publish errors",
             (Fault(PUBLISH, "error", every=1), Fault(UPDATE, "error", every=1, match=PROCESSED_FINISH)),
             "every webhook dead-letters and its alert fails at first"),
    Scenario("processing always fails", (Fault(UPDATE, "error", every=1, match=PROCESSED_FINISH),),
             "every webhook ends failed in the DLQ with an alert"),
    Scenario("payment write errors", (Fault(PUT, "error", match=PAYMENT_PUT),), "the payment record cannot be written"),
    # A crash mid-batch returns the whole batch, finished messages included: like the other
    # processor crashes, frequent ones can run messages out of receives (dead-lettered, requeued).
    Scenario("crash after the payment write", (Fault(PUT, "crash", match=PAYMENT_PUT),),
             "applied, never published", requeue_may_rescue=True),
    Scenario("payment event publish errors", (Fault(PUBLISH_BATCH, "error"),), "applied, publishing fails"),
    Scenario("crash after the payment publish", (Fault(PUBLISH_BATCH, "crash"),), "published, never finished",
             requeue_may_rescue=True),
    Scenario("everything at once", (
        Fault(SECRET, "error", every=3), Fault(PUT, "timeout", every=4), Fault(SEND, "crash", every=5),
        Fault(BATCH_GET, "crash", every=4, match=RECORDS_READ), Fault(UPDATE, "timeout", every=3, match=FINISH),
        Fault(PUBLISH, "throttle", every=2),
    ), "", requeue_may_rescue=True),
)


def generate_deliveries(count: int, seed: int = 11) -> list[Delivery]:
    """``count`` provider events over four providers, ~10% delivered twice, a few forgeries."""
    rng = random.Random(seed)
    deliveries: list[Delivery] = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            event = samples.stripe_event(
                rng.choice(["payment_intent.succeeded", "charge.refunded", "customer.created"]),
                event_id=f"evt_{uuid.UUID(int=rng.getrandbits(128)).hex}",
            )
            body, headers = samples.stripe_delivery(event)
            source, key = "stripe", event["id"]
        elif kind == 1:
            event_id = str(uuid.UUID(int=rng.getrandbits(128)))
            body, headers = samples.square_delivery(
                rng.choice(["payment.updated", "refund.created", "team_member.created"]), event_id=event_id
            )
            source, key = "square", event_id
        elif kind == 2:
            psp = f"PSP{rng.getrandbits(40):013d}"
            body, headers = samples.adyen_delivery(samples.adyen_item(psp),
                                                   samples.adyen_item(f"{psp[:-1]}C", "CAPTURE", original=psp))
            source, key = "adyen", psp
        else:
            msg_id = f"msg_{uuid.UUID(int=rng.getrandbits(128)).hex}"
            body, headers = samples.standard_delivery(
                rng.choice(["payment.succeeded", "refund.succeeded", "user.created"]), msg_id=msg_id
            )
            source, key = "standard", msg_id
        deliveries.append(Delivery(source, body, headers, key))
        if rng.random() < 0.1:  # the provider delivers it twice on its own
            deliveries.append(Delivery(source, body, dict(headers), key))
        if rng.random() < 0.05:  # a forgery: same id, altered body
            deliveries.append(Delivery(source, body.replace(b"1", b"2", 1) + b" ", dict(headers), f"forged-{key}",
                                       genuine=False))
    return deliveries


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulated_stack() -> Iterator[Any]:
    """moto_server in a thread (streams need its HTTP API), the app's client, env pointing at it."""
    import logging

    import boto3
    from chalice.test import Client
    from moto.server import ThreadedMotoServer

    from app import app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto_server's request log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = dict(os.environ)
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "STAGE": "local"})
    try:
        with Client(app, stage_name="local") as client:
            yield client, boto3.session.Session(), f"http://127.0.0.1:{port}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def run_named(scenario: Scenario, client: Any, session: Any, endpoint: str, count: int) -> Outcome:
    import urllib.request

    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    resources = ensure_stack(session, Settings.from_environment(), samples.SOURCES)
    os.environ.update(resources.environment())
    runtime.reset()
    sqs, sns = session.client("sqs"), session.client("sns")
    inbox = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=resources.alerts_topic_arn, Protocol="sqs", Endpoint=inbox_arn,
                  Attributes={"RawMessageDelivery": "true"})

    events_inbox = sqs.create_queue(QueueName="payment-events-inbox")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=resources.payment_events_topic_arn, Protocol="sqs", Endpoint=events_arn,
                  Attributes={"RawMessageDelivery": "true"})

    def drain(queue_url: str) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return received
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    pipeline = Pipeline(client, resources, session)
    return run_scenario(scenario.name, pipeline, generate_deliveries(count), scenario.faults,
                        alerts=lambda: drain(inbox), published=lambda: drain(events_inbox))
