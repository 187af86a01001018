"""Alarms that reach a human, the log metric behind the signature alarm, the dashboard, outputs."""

from __future__ import annotations

import fnmatch
import io
import json
import re
from contextlib import redirect_stdout

import pytest

from tests.infrastructure.conftest import Synthesized


def alarms(stage: Synthesized) -> dict[str, dict]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in stage.resources("AWS::CloudWatch::Alarm").values()
    }


def alarm(stage: Synthesized, what: str) -> dict:
    return alarms(stage)[f"payment-webhooks-{stage.stage}-{what}"]


def dimensions(properties: dict) -> dict:
    return {d["Name"]: d["Value"] for d in properties.get("Dimensions", [])}


def test_every_alarm_notifies_the_alerts_topic_on_alarm_and_recovery(stage: Synthesized) -> None:
    alerts = {"Ref": stage.logical_id("AWS::SNS::Topic", TopicName=f"payment-webhooks-{stage.stage}-alerts")}
    found = alarms(stage)
    assert len(found) >= 14
    for properties in found.values():
        assert properties["AlarmActions"] == [alerts]
        assert properties["OKActions"] == [alerts]
        assert properties["TreatMissingData"] == "notBreaching"


def test_alarms_are_the_ones_the_key_and_topic_policies_let_publish(stage: Synthesized) -> None:
    # The silent failure: an alarm whose name the key policy does not cover cannot encrypt its
    # message for the encrypted topic, and its notification is dropped.
    _, key = stage.one("AWS::KMS::Key")
    [cloudwatch] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    pattern = cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][-1]
    alarm_name_pattern = pattern.split(":alarm:")[1]
    assert all(fnmatch.fnmatchcase(name, alarm_name_pattern) for name in alarms(stage))


def test_dead_letters_of_either_kind_alarm_on_the_first_message(stage: Synthesized) -> None:
    for what, suffix in (("dlq-not-empty", "processing-dlq"), ("audit-failures-not-empty", "audit-failures")):
        properties = alarm(stage, what)
        queue = stage.logical_id("AWS::SQS::Queue", QueueName=f"payment-webhooks-{stage.stage}-{suffix}")
        assert properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert dimensions(properties) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
        assert (
            properties["Threshold"] == 1
            and properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        )


def test_a_processing_backlog_alarms_on_the_age_of_the_oldest_message(stage: Synthesized) -> None:
    properties = alarm(stage, "processing-backlog-age")
    queue = stage.logical_id("AWS::SQS::Queue", QueueName=f"payment-webhooks-{stage.stage}-processing")
    assert properties["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert dimensions(properties) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
    assert 0 < properties["Threshold"] <= 3600  # seconds


def test_receiver_5xx_alarm_watches_this_stages_api(stage: Synthesized) -> None:
    properties = alarm(stage, "receiver-5xx")
    api_name = stage.json["Resources"]["RestAPI"]["Properties"]["Name"]
    assert properties["Namespace"] == "AWS/ApiGateway" and properties["MetricName"] == "5XXError"
    assert dimensions(properties) == {"ApiName": api_name, "Stage": "api"}


def metric_filter(stage: Synthesized, metric_name: str) -> dict:
    [properties] = [
        f["Properties"]
        for f in stage.resources("AWS::Logs::MetricFilter").values()
        if f["Properties"]["MetricTransformations"][0]["MetricName"] == metric_name
    ]
    return properties


def test_signature_failures_are_counted_from_the_receivers_log_lines(stage: Synthesized) -> None:
    # GIVEN the metric filter and the alarm on its metric
    properties = metric_filter(stage, "SignatureFailures")
    [transformation] = properties["MetricTransformations"]
    group = properties["LogGroupName"]["Ref"]
    assert stage.json["Resources"][group]["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/lambda/", {"Ref": "APIHandler"}]]
    }
    watched = alarm(stage, "signature-failures")
    assert (watched["Namespace"], watched["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    # WHEN the receiver logs a rejected signature, as it does in production
    from chalicelib import log
    from chalicelib.errors import InvalidSignature, SignatureExpired

    lines = io.StringIO()
    with redirect_stdout(lines):
        for code in (InvalidSignature.code, SignatureExpired.code):
            log.warning("webhook rejected", source="stripe", outcome="rejected", httpStatus=401, error=code)
    logged = {json.loads(line)["error"] for line in lines.getvalue().splitlines()}
    # THEN the filter's terms are exactly those top-level fields
    terms = set(re.findall(r'\$\.error = "([a-z_]+)"', properties["FilterPattern"]))
    assert terms == logged == {"invalid_signature", "signature_expired"}
    assert " || " in properties["FilterPattern"]


def test_configuration_faults_are_counted_from_the_receivers_log_lines(stage: Synthesized, capsys) -> None:
    # GIVEN the configuration-fault metric filter on the receiver's log group, and its alarm
    properties = metric_filter(stage, "ConfigurationFaults")
    [transformation] = properties["MetricTransformations"]
    group = properties["LogGroupName"]["Ref"]
    assert stage.json["Resources"][group]["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/lambda/", {"Ref": "APIHandler"}]]
    }
    watched = alarm(stage, "source-configuration")
    assert (watched["Namespace"], watched["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert watched["Threshold"] == 1 and watched["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # WHEN the receiver answers a misconfigured source and loads a broken entry, as in production
    from chalicelib.providers.contract import SourceConfig
    from chalicelib.receiver import handle_webhook
    from chalicelib.sources import SourceTable

    class Registry:
        def get(self, name: str) -> SourceConfig:
            return SourceConfig(name=name, provider="adyen", secrets=("not hex",))

    class Services:
        class ingest:  # noqa: N801 (an attribute, like runtime.Services.ingest)
            sources = Registry()
            max_body_bytes = 1000

    capsys.readouterr()
    response = handle_webhook(
        "adyen", b'{"notificationItems": []}', {"Content-Type": "application/json"},
        Services,  # type: ignore[arg-type]  # a stand-in for the container: only .ingest is read
    )
    SourceTable.from_document({"sources": {"stripe": {"provider": "none", "secrets": ["x"]}}})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # THEN both lines carry the field the filter matches, and the answer is a 503
    assert response.status_code == 503
    assert [line.get("fault") for line in lines] == ["configuration", "configuration"]
    assert properties["FilterPattern"] == '{ $.fault = "configuration" }'


def test_delivery_alerts_are_counted_from_the_receivers_alert_lines(stage: Synthesized) -> None:
    # GIVEN the filter on the receiver's log group and the alarm on its metric
    properties = metric_filter(stage, "DeliveryAlerts")
    group = properties["LogGroupName"]["Ref"]
    assert stage.json["Resources"][group]["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/lambda/", {"Ref": "APIHandler"}]]
    }
    [transformation] = properties["MetricTransformations"]
    watched = alarm(stage, "delivery-alerts")
    assert (watched["Namespace"], watched["MetricName"]) == (
        transformation["MetricNamespace"], transformation["MetricName"],
    )
    assert watched["Threshold"] == 1 and watched["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # WHEN the receiver alerts, through the function it uses in production
    from chalicelib import ingest
    from chalicelib.providers.contract import SourceConfig

    source = SourceConfig("stripe", "stripe", ("whsec_x",))
    lines = io.StringIO()
    with redirect_stdout(lines):
        for code in ingest.ALERTS:
            ingest.alert(code, source, "wh_1")
    logged = {json.loads(line)["alert"] for line in lines.getvalue().splitlines()}
    # THEN the filter's terms are exactly the top-level values it writes
    terms = set(re.findall(r'\$\.alert = "([a-z_]+)"', properties["FilterPattern"]))
    assert terms == logged == set(ingest.ALERTS)


def test_a_reconciler_recovery_alarms_on_the_metric_it_logs(stage: Synthesized) -> None:
    properties = alarm(stage, "reconcile-recovered")
    from chalicelib.reconcile.run import METRIC_NAME
    from chalicelib.reconcile.service import metrics_namespace

    # The namespace the reconciler writes (its embedded metric), the total over sources, from one
    assert (properties["Namespace"], properties["MetricName"]) == (metrics_namespace(stage.stage), METRIC_NAME)
    assert dimensions(properties) == {} and properties["Threshold"] == 1
    assert properties["Statistic"] == "Sum"


def test_a_paypal_confirmation_mismatch_alarms_at_once(stage: Synthesized) -> None:
    from chalicelib.providers.paypal.events_api import MISMATCH_METRIC

    properties = alarm(stage, "paypal-confirmation-mismatch")
    assert (properties["Namespace"], properties["MetricName"]) == (f"PaymentWebhooks/{stage.stage}", MISMATCH_METRIC)
    assert dimensions(properties) == {} and properties["Threshold"] == 1


@pytest.mark.parametrize(
    "logical_id", ["APIHandler", "ProcessWebhooks", "AuditChanges", "EnqueueNewWebhooks", "ReconcileMissedWebhooks"]
)
def test_every_function_alarms_on_errors_and_throttles(stage: Synthesized, logical_id: str) -> None:
    watched = {
        p["MetricName"]
        for p in alarms(stage).values()
        if p.get("Namespace") == "AWS/Lambda" and dimensions(p) == {"FunctionName": {"Ref": logical_id}}
    }
    assert {"Errors", "Throttles"} <= watched


def test_audit_lag_alarms(stage: Synthesized) -> None:
    properties = alarm(stage, "audit-iterator-age")
    assert properties["MetricName"] == "IteratorAge" and dimensions(properties) == {
        "FunctionName": {"Ref": "AuditChanges"}
    }


def test_dashboard_shows_the_pipelines_key_numbers(stage: Synthesized) -> None:
    _, dashboard = stage.one("AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == f"payment-webhooks-{stage.stage}"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "Count",
        "5XXError",
        "Latency",
        "SignatureFailures",
        "BlockedRequests",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "IteratorAge",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
    ):
        assert f'\\"{metric}\\"' in body, metric


def test_outputs_tell_an_operator_where_everything_is(stage: Synthesized) -> None:
    outputs = stage.json["Outputs"]
    url = outputs["WebhookUrlPattern"]["Value"]["Fn::Join"][1]
    assert {"Ref": "RestAPI"} in url and url[-1].endswith("/api/webhook/{source}")
    prefix = f"payment-webhooks-{stage.stage}"
    expected = {
        "WebhookTableName": {"Ref": stage.logical_id("AWS::DynamoDB::Table", TableName=prefix)},
        "ProcessingQueueUrl": {"Ref": stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-processing")},
        "ProcessingDeadLetterQueueUrl": {
            "Ref": stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-processing-dlq")
        },
        "AuditFailureQueueUrl": {
            "Ref": stage.logical_id("AWS::SQS::Queue", QueueName=f"{prefix}-audit-failures")
        },
        "AlertsTopicArn": {"Ref": stage.logical_id("AWS::SNS::Topic", TopicName=f"{prefix}-alerts")},
        "PaymentEventsTopicArn": {
            "Ref": stage.logical_id("AWS::SNS::Topic", TopicName=f"{prefix}-payment-events")
        },
    }
    for name, value in expected.items():
        assert outputs[name]["Value"] == value, name
