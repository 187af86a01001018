"""Least privilege: each function's role allows its own actions on its own resources only, in the
CDK stack and in the plain-Chalice policy files alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infrastructure.conftest import CHALICE_CONFIG, Synthesized

CHALICE_DIR = CHALICE_CONFIG.parent
ROLES = {
    "api_handler": "ApiHandlerRole",
    "process_webhooks": "ProcessWebhooksRole",
    "audit_changes": "AuditChangesRole",
    "enqueue_new_webhooks": "EnqueueNewWebhooksRole",
    "reconcile_missed_webhooks": "ReconcileMissedWebhooksRole",
}
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def actions(statement: dict) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def role_statements(stage: Synthesized, role: str) -> list[dict]:
    [policy] = stage.json["Resources"][role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def grants(stage: Synthesized, role: str) -> dict[str, object]:
    """Action -> resource, for every non-KMS, non-tracing statement of a role."""
    granted: dict[str, object] = {}
    for statement in role_statements(stage, role):
        if actions(statement) & TRACING or statement["Sid"] == "UseStageKeyThroughServices":
            continue
        for action in actions(statement):
            granted[action] = statement["Resource"]
    return granted


class Arns:
    def __init__(self, stage: Synthesized) -> None:
        prefix = f"payment-webhooks-{stage.stage}"
        table = stage.logical_id("AWS::DynamoDB::Table", TableName=prefix)
        self.table = {"Fn::GetAtt": [table, "Arn"]}
        self.stream = {"Fn::GetAtt": [table, "StreamArn"]}
        self.streams = {"Fn::Join": ["", [self.table, "/stream/*"]]}
        self.queue = {
            "Fn::GetAtt": [stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-processing"), "Arn"]
        }
        self.failures = {
            "Fn::GetAtt": [stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-audit-failures"), "Arn"]
        }
        self.enqueue_failures = {
            "Fn::GetAtt": [stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-enqueue-failures"), "Arn"]
        }
        self.alerts = {"Ref": stage.logical_id("AWS::SNS::Topic", TopicName=f"{prefix}-alerts")}
        self.events = {"Ref": stage.logical_id("AWS::SNS::Topic", TopicName=f"{prefix}-payment-events")}
        self.secret = {
            "Ref": stage.logical_id(
                "AWS::SecretsManager::Secret", Name=f"payment-webhooks/{stage.stage}/sources"
            )
        }
        self.key = {"Fn::GetAtt": [stage.one("AWS::KMS::Key")[0], "Arn"]}


def test_receiver_reads_the_secret_stores_records_and_queues_ids_only(stage: Synthesized) -> None:
    arns = Arns(stage)
    assert grants(stage, "ApiHandlerRole") == {
        "secretsmanager:GetSecretValue": arns.secret,
        "dynamodb:GetItem": arns.table,
        "dynamodb:PutItem": arns.table,
        "dynamodb:UpdateItem": arns.table,
        "sqs:GetQueueUrl": arns.queue,
        "sqs:SendMessage": arns.queue,
    }


def test_processor_consumes_its_queue_updates_records_and_publishes_payment_events_only(
    stage: Synthesized,
) -> None:
    arns = Arns(stage)
    assert grants(stage, "ProcessWebhooksRole") == {
        "sqs:ReceiveMessage": arns.queue,
        "sqs:DeleteMessage": arns.queue,
        "sqs:GetQueueAttributes": arns.queue,
        "dynamodb:BatchGetItem": arns.table,  # WebhookStore.load, PaymentStore.prefetch
        "dynamodb:GetItem": arns.table,
        "dynamodb:UpdateItem": arns.table,
        "dynamodb:PutItem": arns.table,
        "sns:Publish": arns.events,
        "secretsmanager:GetSecretValue": arns.secret,  # source options (issue #13, Adyen autoCapture)
    }


def test_processor_reads_the_sources_secret_only_and_decrypts_it_through_secrets_manager(
    stage: Synthesized,
) -> None:
    # The processor reads the source options normalizers take: GetSecretValue on that one secret,
    # and kms:Decrypt of the stage key only when Secrets Manager asks for it (no write, no list).
    arns = Arns(stage)
    [read] = [s for s in role_statements(stage, "ProcessWebhooksRole") if "secretsmanager:GetSecretValue" in actions(s)]
    assert actions(read) == {"secretsmanager:GetSecretValue"} and read["Resource"] == arns.secret
    assert not [a for s in role_statements(stage, "ProcessWebhooksRole") for a in actions(s)
                if a.startswith("secretsmanager:") and a != "secretsmanager:GetSecretValue"]
    [key] = [s for s in role_statements(stage, "ProcessWebhooksRole") if any(a.startswith("kms:") for a in actions(s))]
    assert "kms:Decrypt" in actions(key) and key["Resource"] == arns.key
    assert "secretsmanager" in json.dumps(key["Condition"]["StringEquals"]["kms:ViaService"])


def test_processor_can_put_payment_records_but_never_overwrite_a_webhook_record(stage: Synthesized) -> None:
    [put] = [s for s in role_statements(stage, "ProcessWebhooksRole") if "dynamodb:PutItem" in actions(s)]
    assert actions(put) == {"dynamodb:PutItem"}
    assert put["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["payment#*"]}}
    record = pytest.importorskip("chalicelib.payments.record")
    assert put["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [f"{record.KEY_PREFIX}*"]
    from chalicelib.webhooks.record import webhook_id_for

    assert not webhook_id_for("stripe", "evt_1").startswith(record.KEY_PREFIX)


@pytest.mark.parametrize(
    ("role", "writes"),
    [
        ("ApiHandlerRole", {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
        ("ProcessWebhooksRole", {"dynamodb:UpdateItem"}),
    ],
)
def test_roles_that_write_webhook_records_can_write_only_webhook_keys(
    stage: Synthesized, role: str, writes: set[str]
) -> None:
    # The receiver and the processor's final update touch webhook records only: they
    # must not be able to overwrite a payment record (keys "payment#...").
    from chalicelib.webhooks.record import WEBHOOK_ID_PREFIX, webhook_id_for

    statements = [
        s for s in role_statements(stage, role) if actions(s) & writes and s["Sid"] != "StoreDedupeMarkers"
    ]
    assert statements and all(actions(s) <= writes for s in statements)
    for statement in statements:
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{WEBHOOK_ID_PREFIX}*"]}
        }
    assert webhook_id_for("stripe", "evt_1").startswith(WEBHOOK_ID_PREFIX)


def test_the_receiver_writes_markers_only_under_their_own_key_prefixes(stage: Synthesized) -> None:
    # The dedupe and transmission markers are the receiver's only writes outside "wh_...": they
    # must not reach a payment record either, and their prefixes are the ones the store writes.
    from chalicelib.webhooks.record import dedupe_key, transmission_key, webhook_id_for

    [statement] = [s for s in role_statements(stage, "ApiHandlerRole") if s["Sid"] == "StoreDedupeMarkers"]
    assert actions(statement) == {"dynamodb:GetItem", "dynamodb:PutItem"}
    prefixes = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert prefixes == ["seen#*", "tx#*"]
    keys = (dedupe_key(webhook_id_for("stripe", "evt_1")), transmission_key("paypal", "paypal", "tx-1"))
    assert [key.split("#", 1)[0] + "#*" for key in keys] == prefixes


def test_audit_reads_the_stream_publishes_alerts_and_dead_letters_records_only(stage: Synthesized) -> None:
    arns = Arns(stage)
    granted = grants(stage, "AuditChangesRole")
    granted.pop("s3:PutObject")  # two statements, one per archive prefix: the next test
    assert granted == {
        "dynamodb:DescribeStream": arns.stream,
        "dynamodb:GetRecords": arns.stream,
        "dynamodb:GetShardIterator": arns.stream,
        "dynamodb:ListStreams": arns.streams,
        "sns:Publish": arns.alerts,
        "sqs:SendMessage": arns.failures,
    }


def test_audit_may_only_put_objects_under_the_archives_two_prefixes(stage: Synthesized) -> None:
    # The archive is the evidence: the audit writes it and can neither read, list nor delete it.
    from chalicelib.archive import POINTER_PREFIX, RECORD_PREFIX

    bucket, _ = stage.one("AWS::S3::Bucket")
    archive = {
        s["Sid"]: s for s in role_statements(stage, "AuditChangesRole") if any(a.startswith("s3:") for a in actions(s))
    }
    assert set(archive) == {"ArchiveRemovedWebhooks", "ArchiveWebhookIds"}
    for sid, prefix in (("ArchiveRemovedWebhooks", RECORD_PREFIX), ("ArchiveWebhookIds", POINTER_PREFIX)):
        assert actions(archive[sid]) == {"s3:PutObject"}
        assert archive[sid]["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}
    [key] = [s for s in role_statements(stage, "AuditChangesRole") if s["Sid"] == "UseStageKeyThroughServices"]
    assert "kms:GenerateDataKey" in actions(key)
    assert {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]} in key["Condition"]["StringEquals"][
        "kms:ViaService"
    ]


def test_the_outbox_reads_the_stream_and_sends_to_the_processing_queue_only(stage: Synthesized) -> None:
    arns = Arns(stage)
    granted = {
        (action, json.dumps(statement["Resource"], sort_keys=True))
        for statement in role_statements(stage, "EnqueueNewWebhooksRole")
        if statement["Sid"] not in ("UseStageKeyThroughServices", "Tracing")
        for action in actions(statement)
    }
    assert granted == {
        ("dynamodb:DescribeStream", json.dumps(arns.stream, sort_keys=True)),
        ("dynamodb:GetRecords", json.dumps(arns.stream, sort_keys=True)),
        ("dynamodb:GetShardIterator", json.dumps(arns.stream, sort_keys=True)),
        ("dynamodb:ListStreams", json.dumps(arns.streams, sort_keys=True)),
        ("sqs:GetQueueUrl", json.dumps(arns.queue, sort_keys=True)),  # only without PROCESSING_QUEUE_URL
        ("sqs:SendMessage", json.dumps(arns.queue, sort_keys=True)),
        ("sqs:SendMessage", json.dumps(arns.enqueue_failures, sort_keys=True)),  # its on-failure destination
    }
    # no table access at all: it reads what the stream hands it
    assert not any(action.startswith("dynamodb:") and action not in (
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"
    ) for action, _ in granted)


def test_reconciler_reads_the_secret_creates_records_and_cursors_queues_ids_and_alerts_only(
    stage: Synthesized,
) -> None:
    arns = Arns(stage)
    assert grants(stage, "ReconcileMissedWebhooksRole") == {
        "secretsmanager:GetSecretValue": arns.secret,
        "dynamodb:BatchGetItem": arns.table,
        "dynamodb:GetItem": arns.table,
        "dynamodb:PutItem": arns.table,
        "sqs:GetQueueUrl": arns.queue,
        "sqs:SendMessage": arns.queue,
        "sns:Publish": arns.alerts,
    }
    # It can create webhook records and its cursors, never touch a payment record, nor update
    # (or replace) anything else
    from chalicelib.reconcile.cursor import CURSOR_KEY_PREFIX
    from chalicelib.webhooks.record import WEBHOOK_ID_PREFIX

    [table] = [s for s in role_statements(stage, "ReconcileMissedWebhooksRole") if "dynamodb:PutItem" in actions(s)]
    assert table["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{WEBHOOK_ID_PREFIX}*", f"{CURSOR_KEY_PREFIX}*"]}
    }


@pytest.mark.parametrize("role", ROLES.values())
def test_key_use_is_this_key_only_and_only_through_aws_services(stage: Synthesized, role: str) -> None:
    [statement] = [s for s in role_statements(stage, role) if any(a.startswith("kms:") for a in actions(s))]
    assert statement["Resource"] == Arns(stage).key
    assert actions(statement) <= {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
    via = json.dumps(statement["Condition"]["StringEquals"]["kms:ViaService"])
    assert "amazonaws.com" in via


@pytest.mark.parametrize("role", ROLES.values())
def test_only_tracing_is_granted_on_star_and_no_action_is_a_wildcard(stage: Synthesized, role: str) -> None:
    for statement in role_statements(stage, role):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in actions(statement)), statement
        if statement["Resource"] == "*":
            assert actions(statement) == TRACING


@pytest.mark.parametrize(
    "logical_id,role",
    [
        ("APIHandler", "ApiHandlerRole"),
        ("ProcessWebhooks", "ProcessWebhooksRole"),
        ("AuditChanges", "AuditChangesRole"),
        ("EnqueueNewWebhooks", "EnqueueNewWebhooksRole"),
        ("ReconcileMissedWebhooks", "ReconcileMissedWebhooksRole"),
    ],
)
def test_each_function_writes_only_to_its_own_log_group(
    stage: Synthesized, logical_id: str, role: str
) -> None:
    [policy] = [
        p["Properties"]
        for p in stage.resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert actions(statement) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    group_id = statement["Resource"]["Fn::GetAtt"][0]
    # the group the function's LoggingConfig names (the audit's), else the one named after it
    configured = stage.json["Resources"][logical_id]["Properties"].get("LoggingConfig", {}).get("LogGroup")
    if configured is not None:
        assert group_id == configured["Ref"]
    else:
        name = stage.json["Resources"][group_id]["Properties"]["LogGroupName"]
        assert logical_id in json.dumps(name)


def test_chalice_config_gives_every_function_its_own_policy_file() -> None:
    config = json.loads(CHALICE_CONFIG.read_text())
    for stage_name, stage in config["stages"].items():
        assert stage["autogen_policy"] is False and "iam_policy_file" not in stage
        for function, settings in stage["lambda_functions"].items():
            assert settings["iam_policy_file"] == f"policy-{stage_name}-{function}.json"
            assert (CHALICE_DIR / settings["iam_policy_file"]).is_file()


def test_policy_files_are_generated_from_the_same_grants() -> None:
    from infrastructure.permissions import render_policy_files

    expected = render_policy_files()
    present = {p.name for p in Path(CHALICE_DIR).glob("policy-*.json")}
    assert present == set(expected), "run: python -m infrastructure.permissions"
    for name, content in expected.items():
        assert (CHALICE_DIR / name).read_text() == content, (
            f"{name} is stale: run python -m infrastructure.permissions"
        )


def grant_conditions(statements: list[dict]) -> dict[str, dict]:
    """Sid -> Condition of the grants (the key statement's differ by design: alias vs key ARN)."""
    return {
        s["Sid"]: s["Condition"]
        for s in statements
        if "Condition" in s and s["Sid"] != "UseStageKeyThroughServices"
    }


@pytest.mark.parametrize("function,role", ROLES.items())
def test_policy_files_grant_the_same_actions_as_the_stack(
    stage: Synthesized, function: str, role: str
) -> None:
    document = json.loads((CHALICE_DIR / f"policy-{stage.stage}-{function}.json").read_text())
    in_file = {
        a for s in document["Statement"] if not s["Sid"].startswith("WriteOwnLogs") for a in actions(s)
    }
    in_stack = {a for s in role_statements(stage, role) for a in actions(s)}
    assert in_file == in_stack
    assert grant_conditions(document["Statement"]) == grant_conditions(role_statements(stage, role))
    names = json.dumps(document)
    assert f"payment-webhooks-{stage.stage}" in names
    other = "prod" if stage.stage == "dev" else "dev"
    assert f"payment-webhooks-{other}" not in names and f"payment-webhooks/{other}/" not in names
