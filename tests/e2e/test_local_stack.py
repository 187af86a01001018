"""End to end over real HTTP: the local stack `make run` starts, driven with `python -m ops`.

Nothing here calls the app in-process: webhooks go through HTTP to Chalice's local server, the
processor runs from the real SQS queue of the emulator, the audit from the table's real stream.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.providers import PROVIDER_NAMES
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from devstack.emulator import free_port
from devstack.state import REPOSITORY
from ops import samples
from tests.e2e.stack import StackProcess, boto3_client, process_alive

pytestmark = pytest.mark.slow

# Every registered provider (a source of its own name in the local stack), its first sample.
ONE_OF_EACH = [(name, samples.sample_names(name)[0]) for name in PROVIDER_NAMES]
SHOW_FIELDS = {"webhookId", "source", "provider", "eventId", "eventType", "status", "receivedAt", "attempts"}


def eventually(check: Callable[[], Any], timeout: float = 45, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_a_signed_event_of_every_provider_is_processed(local_stack: StackProcess) -> None:
    # GIVEN the running stack; WHEN one signed event per provider is sent (concurrently, as
    # providers would) through `python -m ops send`
    running = [
        subprocess.Popen([sys.executable, "-m", "ops", "send", source, event_type, "--json"], cwd=REPOSITORY,
                         env=local_stack.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for source, event_type in ONE_OF_EACH
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, (out, err)
        results.append(json.loads(out))

    # THEN each was accepted over HTTP and, by `ops show --json`, reached `processed`
    for (source, event_type), sent in zip(ONE_OF_EACH, results, strict=True):
        [response] = sent["responses"]
        assert response["httpStatus"] == 200 and response["outcome"] == "accepted"
        [webhook_id] = response["webhookIds"]
        shown = local_stack.ops_json("show", webhook_id)
        assert SHOW_FIELDS <= set(shown)
        assert shown["status"] == "processed", shown
        assert (shown["source"], shown["provider"], shown["eventType"]) == (source, source, event_type)
        assert shown["eventId"] == sent["eventId"] and shown["attempts"] == 1


def test_a_duplicate_answers_with_the_same_webhook_id_and_is_processed_once(local_stack: StackProcess) -> None:
    # WHEN the same signed delivery is sent twice, as a provider's retry
    sent = local_stack.ops_json("send", "stripe", "payment_intent.succeeded", "--duplicate")

    # THEN the second answer is `duplicate` with the first one's id, and it was worked on once
    first, second = sent["responses"]
    assert (first["httpStatus"], first["outcome"]) == (200, "accepted")
    assert (second["httpStatus"], second["outcome"]) == (200, "duplicate")
    assert first["webhookIds"] == second["webhookIds"]
    [webhook_id] = first["webhookIds"]
    shown = local_stack.ops_json("show", webhook_id)
    assert shown["status"] == "processed" and shown["attempts"] == 1
    processed_lines = [line for line in local_stack.output.splitlines()
                       if "webhook processed" in line and webhook_id in line]
    assert len(processed_lines) == 1


def test_a_tampered_event_is_401_and_stored_nowhere(local_stack: StackProcess) -> None:
    # WHEN a delivery is altered after signing
    sent = local_stack.ops_json("send", "stripe", "charge.refunded", "--tamper")

    # THEN it is refused, and no record of it exists
    [response] = sent["responses"]
    assert response["httpStatus"] == 401 and response["outcome"] == "invalid_signature"
    assert response["webhookIds"] == []
    listed = local_stack.ops_json("list", "--limit", "10000")
    assert sent["eventId"] not in {record["eventId"] for record in listed}


def subscribe_alerts(local_stack: StackProcess, name: str) -> str:
    sqs, sns = boto3_client(local_stack, "sqs"), boto3_client(local_stack, "sns")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = local_stack.state()["resources"]["alerts_topic_arn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return url


def alerts_for(local_stack: StackProcess, queue_url: str, webhook_id: str, seen: list[dict]) -> list[dict]:
    sqs = boto3_client(local_stack, "sqs")
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in received.get("Messages", []):
        seen.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [alert for alert in seen if alert.get("webhookId") == webhook_id]


def test_a_message_that_always_fails_is_dead_lettered_and_redrive_brings_it_back(local_stack: StackProcess) -> None:
    # GIVEN a stored webhook that processing cannot handle (its provider is unknown), queued
    state = local_stack.state()["resources"]
    dynamodb, sqs = boto3_client(local_stack, "dynamodb"), boto3_client(local_stack, "sqs")
    alerts = subscribe_alerts(local_stack, "e2e-failure-alerts")
    webhook_id = f"wh_e2e_poison_{time.time_ns()}"
    event = samples.build("stripe", "payment_intent.succeeded")
    record = WebhookRecord(
        webhook_id=webhook_id, source="stripe", provider="no-such-provider", event_id=event.event_id,
        event_type=event.event_type, payload=json.dumps(event.document), received_at="2024-01-01T00:00:00.000Z",
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    dynamodb.put_item(TableName=state["table_name"], Item=record.to_item())
    sqs.send_message(QueueUrl=state["queue_url"], MessageBody=json.dumps({"webhookId": webhook_id}))

    # WHEN the processor keeps failing on it, THEN after maxReceiveCount receives it is `failed`,
    # in the dead-letter queue, and the failure alerted a human
    def failed() -> bool:
        return local_stack.ops_json("show", webhook_id)["status"] == "failed"

    eventually(failed, what="the record to fail")
    dead = eventually(lambda: local_stack.ops_json("redrive", "--dry-run")["messages"], what="the DLQ message")
    assert [message["webhookId"] for message in dead] == [webhook_id]
    seen: list[dict] = []
    eventually(lambda: alerts_for(local_stack, alerts, webhook_id, seen), what="the failure alert")
    assert local_stack.ops_json("redrive", "--dry-run")["count"] == 1  # a dry run moved nothing

    # WHEN the cause is fixed (the record gets a known provider) and the DLQ is redriven
    dynamodb.update_item(TableName=state["table_name"], Key={"pk": {"S": webhook_id}},
                         UpdateExpression="SET provider = :stripe",
                         ExpressionAttributeValues={":stripe": {"S": "stripe"}})
    moved = local_stack.ops_json("redrive")

    # THEN the message went back to processing, which now succeeds, and the DLQ is empty
    assert moved["count"] == 1 and moved["messages"][0]["webhookId"] == webhook_id
    eventually(lambda: local_stack.ops_json("show", webhook_id)["status"] == "processed", what="processing")
    assert local_stack.ops_json("redrive", "--dry-run")["count"] == 0


def test_removing_a_record_raises_an_audit_alert(local_stack: StackProcess) -> None:
    # GIVEN a processed webhook and a queue subscribed to the alerts topic
    alerts = subscribe_alerts(local_stack, "e2e-removal-alerts")
    sent = local_stack.ops_json("send", "standard", "refund.succeeded")
    [webhook_id] = sent["responses"][0]["webhookIds"]

    # WHEN someone deletes its record
    table = local_stack.state()["resources"]["table_name"]
    boto3_client(local_stack, "dynamodb").delete_item(TableName=table, Key={"pk": {"S": webhook_id}})

    # THEN the stream's audit handler sends an alert naming it
    seen: list[dict] = []
    [alert] = eventually(lambda: alerts_for(local_stack, alerts, webhook_id, seen), what="the removal alert")
    assert alert["alert"] == "A webhook record was removed" and alert["removedBy"] == "principal"


def test_replay_reprocesses_a_processed_webhook(local_stack: StackProcess) -> None:
    sent = local_stack.ops_json("send", "adyen", "REFUND")
    [webhook_id] = sent["responses"][0]["webhookIds"]

    replayed = local_stack.ops_json("replay", webhook_id)

    assert replayed["queued"] == 1 and replayed["reopened"] == 1
    shown = eventually(lambda: (s := local_stack.ops_json("show", webhook_id))["attempts"] == 2 and s,
                       what="the replay to be processed")
    assert shown["status"] == "processed"


def test_chalice_local_serves_the_app_against_the_same_emulator(local_stack: StackProcess) -> None:
    # GIVEN `chalice local --stage local` started after the one documented step (source env.sh)
    port = free_port()
    chalice = os.path.join(os.path.dirname(sys.executable), "chalice")
    env_script = local_stack.state_dir / "env.sh"
    server = subprocess.Popen(
        ["bash", "-c", f". {env_script} && exec {chalice} local --stage local --port {port} --no-autoreload"],
        cwd=REPOSITORY, env=local_stack.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output = server.stdout
        assert output is not None
        eventually(lambda: b"Serving on" in output.readline(), timeout=30, what="chalice local")

        # WHEN a signed event is sent to it
        sent = local_stack.ops_json("send", "square", "refund.created", "--url", f"http://127.0.0.1:{port}")

        # THEN chalice local stored and queued it, and the stack's processor processed it
        [response] = sent["responses"]
        assert response["httpStatus"] == 200 and response["outcome"] == "accepted"
        assert sent["records"][0]["status"] == "processed"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(10)


def test_a_second_run_after_a_crash_starts_cleanly(tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN a stack that was killed outright (kill -9), leaving its state files behind
    state_dir = tmp_path_factory.mktemp("crashed-stack")
    first = StackProcess.start(state_dir)
    old_moto = first.state()["motoPid"]
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    assert (state_dir / "stack.json").exists()

    # WHEN `make run` runs again with the same state (and port)
    second = StackProcess.start(state_dir, port=first.port)
    try:
        # THEN it is ready, the old emulator is gone, and it works
        assert eventually(lambda: not process_alive(old_moto), timeout=10, what="the old emulator to go")
        assert second.state()["runnerPid"] == second.process.pid
        sent = second.ops_json("send", "stripe", "payment_intent.succeeded")
        assert sent["records"][0]["status"] == "processed"

        # AND a third start while it runs is refused with one line
        refused = subprocess.run([sys.executable, "-m", "devstack"], cwd=REPOSITORY, capture_output=True, text=True,
                                 env={**second.environment(), "PORT": str(free_port())}, timeout=60)
        assert refused.returncode == 1 and "already running" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    finally:
        assert second.interrupt() == 0
