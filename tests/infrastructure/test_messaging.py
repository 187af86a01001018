"""Queues and topics: encryption, redrive, retention, and the links between them."""

from __future__ import annotations

import json

from tests.infrastructure.conftest import DEV_ALERT_EMAIL, PROD_ALERT_ENDPOINT, Synthesized, chalice_stage

FOURTEEN_DAYS = 14 * 24 * 3600


def key_arn(stage: Synthesized) -> dict:
    return {"Fn::GetAtt": [stage.one("AWS::KMS::Key")[0], "Arn"]}


def queue(stage: Synthesized, suffix: str) -> tuple[str, dict]:
    name = f"payment-webhooks-{stage.stage}-{suffix}"
    logical_id = stage.logical_id("AWS::SQS::Queue", QueueName=name)
    return logical_id, stage.json["Resources"][logical_id]["Properties"]


def processor(stage: Synthesized) -> dict:
    return stage.json["Resources"]["ProcessWebhooks"]["Properties"]


def test_every_queue_is_encrypted_with_the_stage_key_and_tls_only(stage: Synthesized) -> None:
    queues = stage.resources("AWS::SQS::Queue")
    assert len(queues) == 4  # processing, its DLQ, audit failures, enqueue failures
    for properties in (q["Properties"] for q in queues.values()):
        assert properties["KmsMasterKeyId"] == key_arn(stage)
    policies = stage.resources("AWS::SQS::QueuePolicy")
    covered = {ref["Ref"] for p in policies.values() for ref in p["Properties"]["Queues"]}
    assert covered == set(queues)
    for policy in policies.values():
        [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_processing_queue_redrives_after_max_receives_to_its_dlq(stage: Synthesized) -> None:
    dlq_id, _ = queue(stage, "processing-dlq")
    _, processing = queue(stage, "processing")
    # maxReceiveCount is the processor's MAX_RECEIVES, as deployed and as configured
    max_receives = int(processor(stage)["Environment"]["Variables"]["MAX_RECEIVES"])
    assert max_receives == int(chalice_stage(stage.stage)["environment_variables"]["MAX_RECEIVES"])
    assert processing["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": max_receives,
    }


def test_processing_visibility_timeout_is_at_least_six_processor_timeouts(stage: Synthesized) -> None:
    _, processing = queue(stage, "processing")
    processor_timeout = processor(stage)["Timeout"]
    assert (
        processor_timeout
        == chalice_stage(stage.stage)["lambda_functions"]["process_webhooks"]["lambda_timeout"]
    )
    assert processing["VisibilityTimeout"] >= 6 * processor_timeout


def test_dead_letter_queues_keep_messages_fourteen_days(stage: Synthesized) -> None:
    for suffix in ("processing-dlq", "audit-failures"):
        _, properties = queue(stage, suffix)
        assert properties["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_topics_are_encrypted_with_the_stage_key_and_tls_only(stage: Synthesized) -> None:
    for suffix in ("alerts", "payment-events"):
        stage.template.has_resource_properties(
            "AWS::SNS::Topic",
            {"TopicName": f"payment-webhooks-{stage.stage}-{suffix}", "KmsMasterKeyId": key_arn(stage)},
        )
    for policy in stage.resources("AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_alerts_topic_lets_only_this_stages_alarms_publish(stage: Synthesized) -> None:
    alerts = stage.logical_id("AWS::SNS::Topic", TopicName=f"payment-webhooks-{stage.stage}-alerts")
    [policy] = [
        p
        for p in stage.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": alerts}]
    ]
    [allow] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert f":alarm:payment-webhooks-{stage.stage}-*" in json.dumps(allow["Condition"])


def test_alert_subscribers_come_from_context(dev: Synthesized, prod: Synthesized) -> None:
    alerts = dev.logical_id("AWS::SNS::Topic", TopicName="payment-webhooks-dev-alerts")
    dev.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": DEV_ALERT_EMAIL, "TopicArn": {"Ref": alerts}},
    )
    dev.template.resource_count_is("AWS::SNS::Subscription", 1)
    # prod: cdk.json sets none, so the test context gives it an HTTPS endpoint (conftest)
    prod_alerts = prod.logical_id("AWS::SNS::Topic", TopicName="payment-webhooks-prod-alerts")
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "https", "Endpoint": PROD_ALERT_ENDPOINT, "TopicArn": {"Ref": prod_alerts}},
    )
    prod.template.resource_count_is("AWS::SNS::Subscription", 1)


def test_payment_events_topic_has_no_subscriber_in_the_stack(stage: Synthesized) -> None:
    events = stage.logical_id("AWS::SNS::Topic", TopicName=f"payment-webhooks-{stage.stage}-payment-events")
    subscriptions = stage.resources("AWS::SNS::Subscription").values()
    assert all(s["Properties"]["TopicArn"] != {"Ref": events} for s in subscriptions)


def test_names_and_redrive_match_the_local_stack_of_the_same_stage(stage: Synthesized) -> None:
    # GIVEN what devstack creates for this stage's settings (what the functional tests run on)
    import boto3
    from moto import mock_aws

    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack

    settings = Settings.from_environment(chalice_stage(stage.stage)["environment_variables"])
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        local = ensure_stack(session, settings, {})
        sqs = session.client("sqs")
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=local.queue_url, AttributeNames=["RedrivePolicy"])["Attributes"][
                "RedrivePolicy"
            ]
        )
        dlq_retention = sqs.get_queue_attributes(QueueUrl=local.dlq_url, AttributeNames=["MessageRetentionPeriod"])
        alias = session.client("kms").list_aliases(KeyId=local.kms_key_id)["Aliases"][0]["AliasName"]
    # THEN the deployed resources carry the same names, redrive count and DLQ retention
    dlq_id, dlq = queue(stage, "processing-dlq")
    _, processing = queue(stage, "processing")
    assert processing["QueueName"] == local.queue_url.rsplit("/", 1)[1]
    assert dlq["QueueName"] == local.dlq_url.rsplit("/", 1)[1]
    assert processing["RedrivePolicy"]["maxReceiveCount"] == int(redrive["maxReceiveCount"])
    assert dlq["MessageRetentionPeriod"] == int(dlq_retention["Attributes"]["MessageRetentionPeriod"])
    topics = {t["Properties"]["TopicName"] for t in stage.resources("AWS::SNS::Topic").values()}
    assert topics == {local.alerts_topic_arn.rsplit(":", 1)[1], local.payment_events_topic_arn.rsplit(":", 1)[1]}
    stage.template.has_resource_properties("AWS::KMS::Alias", {"AliasName": alias})
    stage.template.has_resource_properties("AWS::SecretsManager::Secret", {"Name": local.secret_id})
    stage.template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": local.table_name})
