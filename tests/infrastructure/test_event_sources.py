"""``python -m ops fix-event-sources``: the Chalice-only path gets the stack's event-source settings.

Against moto's Lambda event-source-mapping API: a stage as ``chalice deploy`` leaves it (its
functions, the SQS mapping and the stream mapping with Chalice's defaults), then the command, then
the mappings read back.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infrastructure.event_sources import (
    AUDIT_MAX_RECORD_AGE_SECONDS,
    AUDIT_MAX_RETRY_ATTEMPTS,
    ENQUEUE_FILTER_CRITERIA,
    ENQUEUE_MAX_RECORD_AGE_SECONDS,
    ENQUEUE_MAX_RETRY_ATTEMPTS,
)
from infrastructure.names import AUDITOR, ENQUEUER, PROCESSOR, StageNames
from infrastructure.stage_config import cdk_json_context, stage_config
from tests.infrastructure.conftest import REPO_ROOT, STAGES_KEY, cdk_context

REGION = "us-east-1"


@pytest.fixture
def chalice_deployed_dev(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The dev stage as `chalice deploy --stage dev` leaves it, next to the stack's data."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    names = StageNames("dev")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        sqs, lam = session.client("sqs"), session.client("lambda")
        role = session.client("iam").create_role(
            RoleName="chalice-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        queue_url = sqs.create_queue(QueueName=names.processing_queue)["QueueUrl"]
        failures_url = sqs.create_queue(QueueName=names.audit_failure_queue)["QueueUrl"]
        enqueue_failures_url = sqs.create_queue(QueueName=names.enqueue_failure_queue)["QueueUrl"]

        def arn(url: str) -> str:
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        stream_arn = session.client("dynamodb").create_table(
            TableName=names.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
        for function in (PROCESSOR, AUDITOR, ENQUEUER):
            lam.create_function(
                FunctionName=names.chalice_function_name(function), Runtime="python3.12", Role=role,
                Handler="app.handler", Code={"ZipFile": package.getvalue()},
            )
        # What Chalice 1.34 creates: batch size, and LATEST for the stream; nothing else
        lam.create_event_source_mapping(
            FunctionName=names.chalice_function_name(PROCESSOR), EventSourceArn=arn(queue_url), BatchSize=10
        )
        lam.create_event_source_mapping(
            FunctionName=names.chalice_function_name(AUDITOR), EventSourceArn=stream_arn, BatchSize=100,
            StartingPosition="LATEST",
        )
        # The outbox: Chalice's default is LATEST too; the decorator says TRIM_HORIZON
        lam.create_event_source_mapping(
            FunctionName=names.chalice_function_name(ENQUEUER), EventSourceArn=stream_arn, BatchSize=100,
            StartingPosition="TRIM_HORIZON",
        )
        yield {"session": session, "names": names, "failures_arn": arn(failures_url), "queue_arn": arn(queue_url),
               "enqueue_failures_arn": arn(enqueue_failures_url)}


def mapping(session: Any, function_name: str) -> dict[str, Any]:
    [found] = session.client("lambda").list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
    return found


def test_fix_event_sources_sets_what_the_stack_deploys(chalice_deployed_dev: dict[str, Any]) -> None:
    from ops.event_sources import fix_event_sources

    session, names = chalice_deployed_dev["session"], chalice_deployed_dev["names"]
    # WHEN the command runs on the Chalice-deployed dev stage
    fixes = fix_event_sources(session, "dev")
    # THEN the SQS mapping reports partial failures and has the stage's concurrency bound ...
    configured = cdk_context()[STAGES_KEY]["dev"]["processorMaximumConcurrency"]
    processor = mapping(session, names.chalice_function_name(PROCESSOR))
    assert processor["EventSourceArn"] == chalice_deployed_dev["queue_arn"]
    assert processor["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert processor["ScalingConfig"] == {"MaximumConcurrency": configured}
    # ... and the stream mapping bisects, retries a bounded number of times, ages records out and
    # sends what it gives up on to the audit-failure queue: the stack's values, not copies
    audit = mapping(session, names.chalice_function_name(AUDITOR))
    assert audit["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert audit["BisectBatchOnFunctionError"] is True
    assert audit["MaximumRetryAttempts"] == AUDIT_MAX_RETRY_ATTEMPTS == 5
    assert audit["MaximumRecordAgeInSeconds"] == AUDIT_MAX_RECORD_AGE_SECONDS
    assert audit["DestinationConfig"] == {"OnFailure": {"Destination": chalice_deployed_dev["failures_arn"]}}
    # the starting position cannot be changed on a mapping: it is reported, not silently kept
    assert any("LATEST" in note for note in fixes[1].notes)
    # ... and the outbox's mapping likewise, with its own failure queue and its filter criteria
    outbox = mapping(session, names.chalice_function_name(ENQUEUER))
    assert outbox["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert outbox["BisectBatchOnFunctionError"] is True
    assert outbox["MaximumRetryAttempts"] == ENQUEUE_MAX_RETRY_ATTEMPTS
    assert outbox["MaximumRecordAgeInSeconds"] == ENQUEUE_MAX_RECORD_AGE_SECONDS < 24 * 3600
    assert outbox["DestinationConfig"] == {"OnFailure": {"Destination": chalice_deployed_dev["enqueue_failures_arn"]}}
    assert outbox["FilterCriteria"] == ENQUEUE_FILTER_CRITERIA
    assert fixes[2].notes == []  # created at TRIM_HORIZON


def test_fix_event_sources_is_idempotent_and_dry_run_changes_nothing(chalice_deployed_dev: dict[str, Any]) -> None:
    from ops.event_sources import fix_event_sources

    session, names = chalice_deployed_dev["session"], chalice_deployed_dev["names"]
    fix_event_sources(session, "dev", dry_run=True)
    assert not mapping(session, names.chalice_function_name(PROCESSOR)).get("ScalingConfig")
    first = fix_event_sources(session, "dev")
    second = fix_event_sources(session, "dev")
    assert [f.settings for f in first] == [f.settings for f in second]


def test_the_command_through_the_ops_cli(
    chalice_deployed_dev: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from ops.main import main

    assert main(["fix-event-sources", "--stage", "dev", "--json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert [entry["function"] for entry in applied] == [
        "payment-webhooks-dev-process_webhooks", "payment-webhooks-dev-audit_changes",
        "payment-webhooks-dev-enqueue_new_webhooks",
    ]
    expected = stage_config("dev", cdk_json_context()).processor_max_concurrency
    assert applied[0]["settings"]["ScalingConfig"] == {"MaximumConcurrency": expected}


def test_a_stage_without_chalices_mappings_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ops.main import main

    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        assert main(["fix-event-sources", "--stage", "dev"]) == 1
    assert "expected one event source mapping of payment-webhooks-dev-process_webhooks" in capsys.readouterr().err


def test_ops_does_not_import_the_cdk() -> None:
    # ops runs on an operator's machine and next to Lambda code: the shared settings must stay light
    program = ("import sys, ops.event_sources, ops.cli; "
               "print(any(m.startswith(('aws_cdk', 'jsii')) for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
