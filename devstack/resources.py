"""Create, idempotently, every AWS resource a stage needs, on moto (tests and `make run`).

The shapes here (key schema, stream view, redrive policy) are the ones the
CDK stack deploys; the infrastructure tests compare the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.settings import Settings


@dataclass(frozen=True)
class StackResources:
    table_name: str
    table_stream_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    alerts_topic_arn: str
    payment_events_topic_arn: str
    kms_key_id: str
    secret_id: str
    archive_bucket: str = ""

    def environment(self) -> dict[str, str]:
        """The variables that point the app at these resources."""
        return {
            "WEBHOOK_TABLE_NAME": self.table_name,
            "WEBHOOK_TABLE_STREAM_ARN": self.table_stream_arn,
            "PROCESSING_QUEUE_URL": self.queue_url,
            "ALERTS_TOPIC_ARN": self.alerts_topic_arn,
            "PAYMENT_EVENTS_TOPIC_ARN": self.payment_events_topic_arn,
            "SOURCES_SECRET_ID": self.secret_id,
            "ARCHIVE_BUCKET_NAME": self.archive_bucket,
        }


def _exists(exc: Exception, *codes: str) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in codes


def ensure_kms_key(kms: Any, alias: str) -> str:
    try:
        return kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    except Exception as exc:
        if not _exists(exc, "NotFoundException"):
            raise
    key_id = kms.create_key(Description=f"{alias} (local)")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id


def ensure_table(dynamodb: Any, name: str) -> str:
    try:
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            # No index: the stream (below) is the outbox that queues new records (chalicelib/outbox.py).
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )
    except Exception as exc:
        if not _exists(exc, "ResourceInUseException"):
            raise
    return dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def ensure_queues(sqs: Any, name: str, max_receives: int, visibility_timeout: int) -> tuple[str, str, str, str]:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(visibility_timeout),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
    }
    try:
        queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except Exception as exc:  # exists with other attributes (a changed setting): update it
        if not _exists(exc, "QueueAlreadyExists", "QueueNameExists"):
            raise
        queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue_url, queue_arn, dlq_url, dlq_arn


def ensure_archive_bucket(s3: Any, name: str, kms_key_id: str) -> str:
    """The webhook archive (chalicelib/archive.py) as the stack declares it, as far as moto goes:
    versioned, SSE-KMS with the stage key by default, no public access (the lifecycle rule to a
    cold class is the stack's alone: nothing ages on a local run)."""
    try:
        s3.create_bucket(Bucket=name)
    except Exception as exc:
        if not _exists(exc, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id},
            "BucketKeyEnabled": True,
        }]},
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )
    return name


def ensure_secret(secretsmanager: Any, secret_id: str, document: dict[str, Any], kms_key_id: str) -> None:
    text = json.dumps(document)
    try:
        secretsmanager.create_secret(Name=secret_id, SecretString=text, KmsKeyId=kms_key_id)
    except Exception as exc:
        if not _exists(exc, "ResourceExistsException"):
            raise
        secretsmanager.put_secret_value(SecretId=secret_id, SecretString=text)


def ensure_stack(
    session: Any, settings: Settings, sources: dict[str, Any], visibility_timeout: int = 30
) -> StackResources:
    """Create whatever is missing for ``settings``' stage and return where everything is."""
    prefix = settings.table_name
    kms_key_id = ensure_kms_key(session.client("kms"), f"alias/{prefix}")
    stream_arn = ensure_table(session.client("dynamodb"), settings.table_name)
    queue_url, queue_arn, dlq_url, dlq_arn = ensure_queues(
        session.client("sqs"), settings.processing_queue_name, settings.max_receives, visibility_timeout
    )
    sns = session.client("sns")
    alerts = sns.create_topic(Name=f"{prefix}-alerts", Attributes={"KmsMasterKeyId": kms_key_id})["TopicArn"]
    events = sns.create_topic(Name=f"{prefix}-payment-events", Attributes={"KmsMasterKeyId": kms_key_id})["TopicArn"]
    ensure_secret(session.client("secretsmanager"), settings.sources_secret_id, {"sources": sources}, kms_key_id)
    archive_bucket = ensure_archive_bucket(session.client("s3"), settings.archive_bucket_name, kms_key_id)
    return StackResources(
        table_name=settings.table_name,
        table_stream_arn=stream_arn,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        alerts_topic_arn=alerts,
        payment_events_topic_arn=events,
        kms_key_id=kms_key_id,
        secret_id=settings.sources_secret_id,
        archive_bucket=archive_bucket,
    )
