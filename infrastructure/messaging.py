"""Queues and topics: the processing queue and its dead-letter queue, the queues of stream records
the audit could not handle and of new webhooks the outbox could not queue, the alerts topic and
the payment-events topic. All encrypted with the stage's key and reachable only over TLS.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.encryption import cloudwatch_alarms_condition
from infrastructure.stage_config import StageConfig

DEAD_LETTER_RETENTION = Duration.days(14)  # SQS's maximum: two weeks to notice, fix and redrive
PROCESSING_RETENTION = Duration.days(4)
"""SQS's default. A webhook never lives only in the queue: the table holds it, and a record still
``received`` can be sent again (``ops requeue``, a provider's retry, ``ops replay``)."""
DATA_KEY_REUSE = Duration.minutes(5)
"""How long SQS reuses a data key before asking KMS again (the default; bounds KMS calls and cost)."""


@dataclass(frozen=True)
class Messaging:
    processing_queue: sqs.Queue
    dead_letter_queue: sqs.Queue
    audit_failure_queue: sqs.Queue
    enqueue_failure_queue: sqs.Queue
    """The outbox mapping's on-failure destination: stream ranges of new webhooks never queued."""
    alerts_topic: sns.Topic
    payment_events_topic: sns.Topic


def _encrypted_queue(
    scope: Construct, construct_id: str, name: str, key: kms.IKey, **kwargs: object
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=DATA_KEY_REUSE,
        enforce_ssl=True,
        **kwargs,  # type: ignore[arg-type]  # the caller's other sqs.Queue options, passed through
    )


def create_messaging(scope: Construct, config: StageConfig, key: kms.IKey) -> Messaging:
    names = config.names
    dead_letter_queue = _encrypted_queue(
        scope,
        "ProcessingDeadLetterQueue",
        names.dead_letter_queue,
        key,
        retention_period=DEAD_LETTER_RETENTION,
    )
    processing_queue = _encrypted_queue(
        scope,
        "ProcessingQueue",
        names.processing_queue,
        key,
        retention_period=PROCESSING_RETENTION,
        # While the processor holds a batch, SQS hides it for this long. Lambda's guidance is 6x
        # the function timeout, so that retries of a throttled or slow batch do not redeliver
        # messages that are still being worked on.
        visibility_timeout=Duration.seconds(config.processor_visibility_timeout_seconds),
        dead_letter_queue=sqs.DeadLetterQueue(
            # Equal to the processor's MAX_RECEIVES: on that receive it marks the webhook `failed`
            # (which alerts) because it knows SQS is about to move the message here.
            max_receive_count=config.max_receives,
            queue=dead_letter_queue,
        ),
    )
    audit_failure_queue = _encrypted_queue(
        scope, "AuditFailureQueue", names.audit_failure_queue, key, retention_period=DEAD_LETTER_RETENTION
    )
    enqueue_failure_queue = _encrypted_queue(
        scope, "EnqueueFailureQueue", names.enqueue_failure_queue, key, retention_period=DEAD_LETTER_RETENTION
    )
    alerts_topic = sns.Topic(
        scope,
        "AlertsTopic",
        topic_name=names.alerts_topic,
        display_name=f"payment-webhooks {config.stage} alerts",
        master_key=key,
        enforce_ssl=True,
    )
    # The topic policy that enforce_ssl creates replaces SNS's default one, so CloudWatch alarms
    # (a service principal, not an IAM identity of the account) must be allowed by name.
    alerts_topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowThisStagesAlarmsToPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[alerts_topic.topic_arn],
            conditions=cloudwatch_alarms_condition(config),
        )
    )
    if config.alert_email:
        # The recipient must confirm the subscription from the e-mail SNS sends after deployment.
        alerts_topic.add_subscription(subscriptions.EmailSubscription(config.alert_email))
    if config.alert_endpoint:
        # An incident tool's SNS integration URL; it confirms the subscription itself.
        alerts_topic.add_subscription(
            subscriptions.UrlSubscription(config.alert_endpoint, protocol=sns.SubscriptionProtocol.HTTPS)
        )
    payment_events_topic = sns.Topic(
        scope,
        "PaymentEventsTopic",
        topic_name=names.payment_events_topic,
        display_name=f"payment-webhooks {config.stage} payment events",
        master_key=key,
        enforce_ssl=True,
    )
    return Messaging(
        processing_queue, dead_letter_queue, audit_failure_queue, enqueue_failure_queue, alerts_topic,
        payment_events_topic,
    )
