"""Issue #13: the processor reads the sources secret (source options) under the role the stack deploys.

Adyen ``autoCapture`` is a source option, so the processor's role needs ``GetSecretValue`` on the
sources secret. With it, an auto-capture source's AUTHORISATION is booked as captured; without it
(the policy before this grant), the message is retried and nothing is booked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import samples
from tests.infrastructure.iam_enforced.resources import denied
from tests.infrastructure.iam_enforced.test_enforced_flows import enqueue, process, status

pytestmark = pytest.mark.slow

AUTO_SOURCE = "adyen-auto"
PSP = "IAMAUTOCAPTURE01"


def with_auto_capture_source(world: Any) -> None:
    secrets = world.admin.client("secretsmanager")
    document = json.loads(secrets.get_secret_value(SecretId=world.resources.secret_id)["SecretString"])
    document["sources"][AUTO_SOURCE] = {"provider": "adyen", "secrets": [samples.ADYEN_KEY], "autoCapture": True}
    secrets.put_secret_value(SecretId=world.resources.secret_id, SecretString=json.dumps(document))


def deliver_authorisation(world: Any, client: Any) -> str:
    body, headers = samples.adyen_delivery(samples.adyen_item(PSP))
    with world.as_function("api_handler"):
        response = client.http.post(f"/webhook/{AUTO_SOURCE}", body=body, headers=headers)
    assert response.status_code == 200, response.body
    # the table's stream queues it, under the outbox's role
    assert enqueue(world, client) == {"batchItemFailures": []}
    return str(response.headers["X-Webhook-Ids"])


def payment_item(world: Any) -> dict[str, Any] | None:
    table = world.resources.table_name
    items = world.admin.client("dynamodb").scan(TableName=table)["Items"]
    found = [item for item in items if item["pk"]["S"].startswith("payment#") and PSP in item["pk"]["S"]]
    return found[0] if found else None


def test_the_processor_role_reads_the_source_options_and_books_the_auto_capture(enforced_stack, enforced_client):
    world = enforced_stack()
    with_auto_capture_source(world)
    webhook_id = deliver_authorisation(world, enforced_client)

    [result] = process(world, enforced_client)

    assert result == {"batchItemFailures": []}
    assert status(world, webhook_id) == "processed"
    record = payment_item(world)
    assert record is not None and record["status"]["S"] == "succeeded"
    calls = world.calls_by_function["process_webhooks"]
    assert any(call.action == "secretsmanager:GetSecretValue" for call in calls)
    assert denied(calls, world.documents["process_webhooks"]) == []


def test_a_processor_role_without_the_secret_read_retries_and_books_nothing(enforced_stack, enforced_client):
    # GIVEN the processor's policy as deployed before issue #13: no GetSecretValue
    world = enforced_stack(without={"process_webhooks": "secretsmanager:GetSecretValue"})
    with_auto_capture_source(world)
    webhook_id = deliver_authorisation(world, enforced_client)

    # WHEN the processor gets the message
    [result] = process(world, enforced_client)

    # THEN AccessDenied is a dependency outage: the message is retried, nothing is booked
    assert len(result["batchItemFailures"]) == 1
    assert status(world, webhook_id) == "received"
    assert payment_item(world) is None
