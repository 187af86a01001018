"""The KMS key, the webhook table and the sources secret, as synthesized for each stage."""

from __future__ import annotations

import json

import boto3
from aws_cdk.assertions import Match
from moto import mock_aws

from tests.infrastructure.conftest import Synthesized


def key_id(stage: Synthesized) -> str:
    return stage.one("AWS::KMS::Key")[0]


def key_arn(stage: Synthesized) -> dict:
    return {"Fn::GetAtt": [key_id(stage), "Arn"]}


def test_customer_managed_key_rotates_and_has_the_stage_alias(stage: Synthesized) -> None:
    stage.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    stage.template.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": f"alias/payment-webhooks-{stage.stage}", "TargetKeyId": key_arn(stage)},
    )


def test_key_policy_lets_cloudwatch_alarms_use_it_and_grants_nothing_else(stage: Synthesized) -> None:
    # GIVEN the key policy
    _, key = stage.one("AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    # THEN it has the account statement (which only lets IAM policies grant use) ...
    account = [s for s in statements if "AWS" in s["Principal"]]
    assert len(account) == 1 and account[0]["Action"] == "kms:*"
    assert ":root" in json.dumps(account[0]["Principal"])
    # ... and CloudWatch, limited to this account's alarms of this stage, and nothing more
    [cloudwatch] = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert f":alarm:payment-webhooks-{stage.stage}-*" in json.dumps(cloudwatch["Condition"]["ArnLike"])
    # ... and SNS for subscriber queues (next test), and nothing more
    assert len(statements) == 3


PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333"}


def render(value: object) -> str:
    """A string, or an Fn::Join of strings and pseudo parameters, as CloudFormation resolves it."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict)
    if "Ref" in value:
        return PSEUDO[value["Ref"]]
    separator, parts = value["Fn::Join"]
    return separator.join(render(part) for part in parts)


def test_key_policy_lets_the_stages_topics_deliver_to_queues_encrypted_with_it(stage: Synthesized) -> None:
    # GIVEN the key policy's statement for SNS (a subscriber's queue under the stage key)
    _, key = stage.one("AWS::KMS::Key")
    [sns] = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "sns.amazonaws.com"}
    ]
    # THEN it allows exactly what SNS needs to write to an encrypted queue ...
    assert sns["Effect"] == "Allow" and set(sns["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    # ... only for this account's two topics of this stage, named as the topics are
    assert sns["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    allowed = {render(arn) for arn in sns["Condition"]["ArnEquals"]["aws:SourceArn"]}
    topics = {
        f"arn:aws:sns:eu-west-1:111122223333:{topic['Properties']['TopicName']}"
        for topic in stage.resources("AWS::SNS::Topic").values()
    }
    assert allowed == topics and len(topics) == 2


def test_key_is_retained_in_prod_only(dev: Synthesized, prod: Synthesized) -> None:
    prod.template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    dev.template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})


def test_table_is_on_demand_encrypted_recoverable_streamed_and_expires(stage: Synthesized) -> None:
    stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"payment-webhooks-{stage.stage}",
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn(stage)},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        },
    )
    # No index: the stream is the outbox that queues new records (chalicelib/outbox.py)
    [table] = stage.resources("AWS::DynamoDB::Table").values()
    assert "GlobalSecondaryIndexes" not in table["Properties"]


def test_prod_table_is_protected_and_retained_dev_table_is_not(dev: Synthesized, prod: Synthesized) -> None:
    prod.template.has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"DeletionProtectionEnabled": True})},
    )
    dev.template.has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Delete", "Properties": Match.object_like({"DeletionProtectionEnabled": False})},
    )


def test_table_has_exactly_the_shape_the_local_stack_creates(stage: Synthesized) -> None:
    # GIVEN the table devstack creates for the app (and the functional tests run against)
    from devstack.resources import ensure_table

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(dynamodb, "shape")
        local = dynamodb.describe_table(TableName="shape")["Table"]
        local_ttl = dynamodb.describe_time_to_live(TableName="shape")["TimeToLiveDescription"]
    # WHEN compared with the synthesized table
    _, table = stage.one("AWS::DynamoDB::Table")
    deployed = table["Properties"]

    # THEN keys, attribute types, (no) index, stream view and TTL attribute are the same
    def by_name(items: list[dict], key: str) -> dict:
        return {item[key]: item for item in items}

    assert by_name(deployed["AttributeDefinitions"], "AttributeName") == by_name(
        local["AttributeDefinitions"], "AttributeName"
    )
    assert deployed["KeySchema"] == local["KeySchema"]
    # no index on either side: the stream queues new records (chalicelib/outbox.py)
    assert "GlobalSecondaryIndexes" not in deployed and not local.get("GlobalSecondaryIndexes")
    assert deployed["StreamSpecification"]["StreamViewType"] == local["StreamSpecification"]["StreamViewType"]
    assert deployed["TimeToLiveSpecification"]["AttributeName"] == local_ttl["AttributeName"]


def test_sources_secret_is_encrypted_and_carries_no_secret_value(stage: Synthesized) -> None:
    _, secret = stage.one("AWS::SecretsManager::Secret")
    properties = secret["Properties"]
    assert properties["Name"] == f"payment-webhooks/{stage.stage}/sources"
    assert properties["KmsKeyId"] == key_arn(stage)
    # Only a generator: Secrets Manager makes the initial value; the template holds no secret.
    assert "SecretString" not in properties
    shape = json.loads(properties["GenerateSecretString"]["SecretStringTemplate"])
    assert shape == {"sources": {}}


def test_secret_is_retained_in_prod(prod: Synthesized) -> None:
    prod.template.has_resource("AWS::SecretsManager::Secret", {"DeletionPolicy": "Retain"})
