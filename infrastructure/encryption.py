"""The stage's customer-managed KMS key: table, queues, topics and the sources secret use it.

Its policy has three statements and no more:

- the account statement CDK writes by default (``kms:*`` for the account root). It grants nothing
  by itself: it lets IAM policies grant use of the key, so every function's role names exactly the
  key actions it needs, through exactly the services it calls (``infrastructure.permissions``);
- CloudWatch alarms. An alarm publishes to its SNS topic as the CloudWatch service, not as an IAM
  principal of the account, and SNS must encrypt the message with this key. Without this statement
  every alarm notification to an encrypted topic is dropped, silently. Scoped to this account's
  alarms of this stage.
- SNS, for subscriber queues encrypted with this key. SNS delivers to an encrypted SQS queue as the
  SNS service, so it needs the queue key's ``GenerateDataKey``/``Decrypt``; without this statement a
  consumer's queue under the stage key subscribed to payment events would receive nothing, and SNS
  would only record a delivery failure. Scoped to this stage's two topics (``aws:SourceArn``).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infrastructure.stage_config import StageConfig


def alarm_arn_pattern(config: StageConfig) -> str:
    """ARNs of this stage's alarms: every alarm the stack creates is named ``<prefix>-...``."""
    return f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{config.names.prefix}-*"


def cloudwatch_alarms_condition(config: StageConfig) -> dict[str, dict[str, str]]:
    """Confused-deputy guard: only alarms of this account and stage, not CloudWatch at large."""
    return {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": alarm_arn_pattern(config)},
    }


def stage_topic_arns(config: StageConfig) -> list[str]:
    """The stage's topics by name, not by reference: the topics are encrypted with the key, so a
    reference from the key's policy to them would be a dependency cycle."""
    names = config.names
    return [
        f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{topic}"
        for topic in (names.alerts_topic, names.payment_events_topic)
    ]


def create_key(scope: Construct, config: StageConfig) -> kms.Key:
    key = kms.Key(
        scope,
        "Key",
        alias=config.names.key_alias,
        description=f"payment-webhooks {config.stage}: webhook table, queues, topics, sources secret",
        enable_key_rotation=True,  # yearly, automatic; old key material still decrypts
        # Days a deleted key can still be recovered; the data it protects is unreadable without it.
        pending_window=Duration.days(30 if config.retain_data else 7),
        removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            # What SNS needs from the publisher's side (as AWS documents for CloudWatch alarms).
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key and nothing else
            conditions=cloudwatch_alarms_condition(config),
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowStageTopicsToDeliverToQueuesUnderThisKey",
            principals=[iam.ServicePrincipal("sns.amazonaws.com")],
            # What SNS needs to send to an SQS queue encrypted with this key (AWS's SNS-to-SQS
            # encryption guidance); nothing here lets SNS read the table, the secret or a queue.
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],  # in a key policy, "*" is this key and nothing else
            conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnEquals": {"aws:SourceArn": stage_topic_arns(config)},
            },
        )
    )
    return key
