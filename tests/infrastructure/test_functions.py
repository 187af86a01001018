"""The Lambda functions Chalice declares, with what the stack adds: environment, tracing,
architecture, log retention, reserved concurrency and the event-source settings."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from tests.infrastructure.conftest import DEV_RESERVED, STAGES_KEY, Synthesized, cdk_context, chalice_stage

FUNCTIONS = {
    "api_handler": "APIHandler",
    "process_webhooks": "ProcessWebhooks",
    "audit_changes": "AuditChanges",
    "enqueue_new_webhooks": "EnqueueNewWebhooks",
    "reconcile_missed_webhooks": "ReconcileMissedWebhooks",
}
RUNTIME_GLIBC = (2, 26)  # the python3.11 Lambda runtime (Amazon Linux 2)


def function(stage: Synthesized, logical_id: str) -> dict:
    return stage.json["Resources"][logical_id]["Properties"]


def ref(stage: Synthesized, resource_type: str, **properties: object) -> dict:
    return {"Ref": stage.logical_id(resource_type, **properties)}


@pytest.mark.parametrize("name,logical_id", FUNCTIONS.items())
def test_function_runs_traced_on_arm64_with_its_configured_size(
    stage: Synthesized, name: str, logical_id: str
) -> None:
    configured = chalice_stage(stage.stage)["lambda_functions"][name]
    stage.template.has_resource_properties(
        "AWS::Serverless::Function",
        {
            "Handler": "app.app" if name == "api_handler" else f"app.{name}",
            "Tracing": "Active",
            "Architectures": ["arm64"],
            "MemorySize": configured["lambda_memory_size"],
            "Timeout": configured["lambda_timeout"],
        },
    )
    assert function(stage, logical_id)["Runtime"] == "python3.11"


@pytest.mark.parametrize("logical_id", FUNCTIONS.values())
def test_environment_points_at_this_stacks_resources(stage: Synthesized, logical_id: str) -> None:
    variables = function(stage, logical_id)["Environment"]["Variables"]
    prefix = f"payment-webhooks-{stage.stage}"
    table = stage.logical_id("AWS::DynamoDB::Table", TableName=prefix)
    queue = stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-processing")
    assert variables["STAGE"] == stage.stage
    assert variables["TRACING"] == "true"
    assert variables["WEBHOOK_TABLE_NAME"] == {"Ref": table}
    assert variables["WEBHOOK_TABLE_STREAM_ARN"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert variables["PROCESSING_QUEUE_NAME"] == f"{prefix}-processing"
    assert variables["PROCESSING_QUEUE_URL"] == {"Ref": queue}
    assert variables["ALERTS_TOPIC_ARN"] == ref(stage, "AWS::SNS::Topic", TopicName=f"{prefix}-alerts")
    assert variables["PAYMENT_EVENTS_TOPIC_ARN"] == ref(
        stage, "AWS::SNS::Topic", TopicName=f"{prefix}-payment-events"
    )
    assert variables["SOURCES_SECRET_ID"] == ref(
        stage, "AWS::SecretsManager::Secret", Name=f"payment-webhooks/{stage.stage}/sources"
    )


def log_group_of(stage: Synthesized, logical_id: str) -> dict:
    """The function's log group: the one its ``LoggingConfig`` names, else the one named
    /aws/lambda/<the function's generated name> (where Lambda writes by default)."""
    named = function(stage, logical_id).get("LoggingConfig", {}).get("LogGroup")
    if named is not None:
        return stage.json["Resources"][named["Ref"]]["Properties"]
    names = (
        {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"},  # Chalice's
        {"Fn::Join": ["", ["/aws/lambda/", {"Ref": logical_id}]]},  # the stack's (API handler)
    )
    [group] = [
        g["Properties"]
        for g in stage.resources("AWS::Logs::LogGroup").values()
        if g["Properties"]["LogGroupName"] in names
    ]
    return group


@pytest.mark.parametrize("name,logical_id", FUNCTIONS.items())
def test_every_function_has_a_log_group_with_its_retention(
    stage: Synthesized, name: str, logical_id: str
) -> None:
    configured = chalice_stage(stage.stage)
    expected = (
        configured["lambda_functions"][name].get("log_retention_in_days")
        or configured["log_retention_in_days"]
    )
    assert log_group_of(stage, logical_id)["RetentionInDays"] == expected


def test_audit_logs_are_kept_a_year(stage: Synthesized) -> None:
    assert log_group_of(stage, "AuditChanges")["RetentionInDays"] == 365


def test_reserved_concurrency_is_off_unless_configured(dev: Synthesized, prod: Synthesized) -> None:
    for logical_id in FUNCTIONS.values():
        assert "ReservedConcurrentExecutions" not in function(prod, logical_id)
    reserved = {
        name: function(dev, FUNCTIONS[name]).get("ReservedConcurrentExecutions") for name in FUNCTIONS
    }
    assert reserved == {name: DEV_RESERVED.get(name) for name in FUNCTIONS}


def test_processor_consumes_this_stacks_queue_with_partial_batch_responses(stage: Synthesized) -> None:
    queue = stage.logical_id("AWS::SQS::Queue", QueueName=f"payment-webhooks-{stage.stage}-processing")
    event = function(stage, "ProcessWebhooks")["Events"]["ProcessWebhooksSqsEventSource"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_audit_reads_this_stacks_stream_and_isolates_failures(stage: Synthesized) -> None:
    table = stage.logical_id("AWS::DynamoDB::Table", TableName=f"payment-webhooks-{stage.stage}")
    failures = stage.logical_id("AWS::SQS::Queue", QueueName=f"payment-webhooks-{stage.stage}-audit-failures")
    event = function(stage, "AuditChanges")["Events"]["AuditChangesDynamodbEventSource"]
    properties = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert properties["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 <= properties["MaximumRetryAttempts"] <= 10  # bounded (the default -1 is forever)
    assert 60 <= properties["MaximumRecordAgeInSeconds"] < 24 * 3600  # bounded, inside the stream's 24 h
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [failures, "Arn"]}


def test_sam_turns_the_events_into_mappings_with_those_settings(stage: Synthesized) -> None:
    # WHEN CloudFormation applies the SAM transform
    mappings = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
        for m in stage.resources("AWS::Lambda::EventSourceMapping", stage.transformed).values()
    }
    # THEN each event-source override survives into the deployed event source mapping
    assert set(mappings) == {"ProcessWebhooks", "AuditChanges", "EnqueueNewWebhooks"}
    sqs, stream = mappings["ProcessWebhooks"], mappings["AuditChanges"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["MaximumRetryAttempts"] >= 0 and stream["MaximumRecordAgeInSeconds"] > 0
    assert "Fn::GetAtt" in stream["DestinationConfig"]["OnFailure"]["Destination"]
    assert (
        sqs["EventSourceArn"]["Fn::GetAtt"][1] == "Arn"
        and stream["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    )
    # the outbox's mapping too, with its filter (invoked for new webhook records only)
    outbox = mappings["EnqueueNewWebhooks"]
    assert outbox["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert outbox["BisectBatchOnFunctionError"] is True and outbox["StartingPosition"] == "TRIM_HORIZON"
    assert outbox["MaximumRecordAgeInSeconds"] < 24 * 3600
    assert "Fn::GetAtt" in outbox["DestinationConfig"]["OnFailure"]["Destination"]
    assert outbox["DestinationConfig"] != stream["DestinationConfig"]  # a queue of its own
    [pattern] = [json.loads(f["Pattern"]) for f in outbox["FilterCriteria"]["Filters"]]
    assert pattern["eventName"] == ["INSERT"]
    assert pattern["dynamodb"]["NewImage"]["itemType"] == {"S": ["webhook"]}
    # the processor's concurrency bound reaches the deployed mapping too
    configured = cdk_context()[STAGES_KEY][stage.stage]["processorMaximumConcurrency"]
    assert sqs["ScalingConfig"] == {"MaximumConcurrency": configured}


def test_processor_concurrency_is_bounded_per_stage(stage: Synthesized) -> None:
    # GIVEN the stage's configured bound (cdk.json; SQS accepts 2 to 1000)
    configured = cdk_context()[STAGES_KEY][stage.stage]["processorMaximumConcurrency"]
    assert 2 <= configured <= 1000
    # THEN the SQS event source caps concurrent processors at it, below any reserved concurrency
    event = function(stage, "ProcessWebhooks")["Events"]["ProcessWebhooksSqsEventSource"]["Properties"]
    assert event["ScalingConfig"] == {"MaximumConcurrency": configured}
    reserved = function(stage, "ProcessWebhooks").get("ReservedConcurrentExecutions")
    assert reserved is None or configured <= reserved


def test_the_stack_and_the_ops_fix_up_use_the_same_event_source_settings(stage: Synthesized) -> None:
    # The settings `python -m ops fix-event-sources` applies come from the same module
    from infrastructure.event_sources import audit_settings, processor_settings

    events = {
        name: function(stage, logical_id)["Events"][event]["Properties"]
        for name, logical_id, event in [
            ("sqs", "ProcessWebhooks", "ProcessWebhooksSqsEventSource"),
            ("stream", "AuditChanges", "AuditChangesDynamodbEventSource"),
        ]
    }
    for key, value in processor_settings(stage.stack.config).items():
        assert events["sqs"][key] == value, key
    for key, value in audit_settings("the-queue-arn").items():
        if key != "DestinationConfig":
            assert events["stream"][key] == value, key


@pytest.mark.parametrize("name,logical_id", FUNCTIONS.items())
def test_function_logs_are_retained_where_the_stage_retains_data(
    dev: Synthesized, prod: Synthesized, name: str, logical_id: str
) -> None:
    # prod (retainData) keeps its audit trail when the stack is deleted or a group replaced
    for stage, policy in ((prod, "Retain"), (dev, "Delete")):
        assert cdk_context()[STAGES_KEY][stage.stage]["retainData"] is (policy == "Retain")
        [(_, resource)] = [
            (k, v)
            for k, v in stage.resources("AWS::Logs::LogGroup").items()
            if v["Properties"] == log_group_of(stage, logical_id)
        ]
        assert resource.get("DeletionPolicy") == policy, (stage.stage, name)
        assert resource.get("UpdateReplacePolicy") == policy, (stage.stage, name)


def test_there_is_no_sweeper_any_more(stage: Synthesized) -> None:
    # The table stream queues every new webhook (chalicelib/outbox.py): nothing scheduled looks for
    # records left behind, and the table has no index for it to query.
    assert "SweepStuckWebhooks" not in stage.json["Resources"]
    [table] = stage.resources("AWS::DynamoDB::Table").values()
    assert "GlobalSecondaryIndexes" not in table["Properties"]


def test_reconciler_runs_on_its_schedule(stage: Synthesized) -> None:
    minutes = int(chalice_stage(stage.stage)["environment_variables"]["RECONCILE_RATE_MINUTES"])
    event = function(stage, "ReconcileMissedWebhooks")["Events"]["ReconcileMissedWebhooksEvent"]
    assert event == {"Type": "Schedule", "Properties": {"Schedule": f"rate({minutes} minutes)"}}


def test_deployment_package_carries_arm64_wheels_the_runtime_can_load(prod: Synthesized) -> None:
    # GIVEN the code asset the functions deploy
    key = function(prod, "APIHandler")["CodeUri"]["Key"]
    [package] = prod.outdir.glob(f"asset.{key.removesuffix('.zip')}*")
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        wheel = archive.read(
            next(n for n in names if re.match(r"cryptography-[^/]+\.dist-info/WHEEL$", n))
        ).decode()
    # THEN every native extension is built for aarch64 ...
    native = [n for n in names if n.endswith(".so")]
    assert native and all("x86_64" not in n for n in native)
    assert any("aarch64" in n for n in native)
    # ... and cryptography's wheel targets a glibc the python3.11 runtime has
    tags = re.findall(r"^Tag: (\S+)$", wheel, flags=re.MULTILINE)
    assert tags and all(tag.endswith("aarch64") for tag in tags)
    for tag in tags:
        glibc = re.search(r"manylinux_(\d+)_(\d+)_", tag)
        if glibc:
            assert (int(glibc[1]), int(glibc[2])) <= RUNTIME_GLIBC, tag
    # ... and only the app and its dependencies ship: no tests, tools or infrastructure
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    assert not any(n.startswith(("tests/", "infrastructure/", "devstack/", "ops/", "providers_tooling/"))
                   for n in names)
