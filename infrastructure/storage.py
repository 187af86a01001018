"""The webhook table and the sources secret.

The table's shape is the one ``devstack/resources.py`` creates locally and ``chalicelib/webhooks/store.py``
relies on: key ``pk``, no index; on demand or provisioned with auto scaling (the stage's
``tableCapacity``); TTL on ``expiresAt``; a stream with both images for the audit
and for the outbox that queues every new webhook (chalicelib/outbox.py). Payment records (``pk``
``payment#...``) share the table and need nothing more from it.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infrastructure.stage_config import ProvisionedCapacity, StageConfig

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expiresAt"
PITR_RECOVERY_DAYS = 35  # the maximum: restore to any second of the last five weeks
ARCHIVE_RECORD_PREFIX = "webhooks/"  # chalicelib.archive.RECORD_PREFIX
ARCHIVE_POINTER_PREFIX = "webhook-ids/"  # chalicelib.archive.POINTER_PREFIX
ARCHIVE_COLD_AFTER_DAYS = 30
"""Archived records move to Glacier Instant Retrieval after this many days: a record is archived
when it is 90 days old and is rarely read again, but ``ops show`` and ``ops payment --rebuild``
must still read it at once (Instant Retrieval does, in milliseconds; Deep Archive would need a
restore of hours first)."""
ARCHIVE_COLD_MIN_BYTES = 128 * 1024
"""Only objects above this go cold: Instant Retrieval bills every object as at least 128 KB and each
transition is a billed request, so a typical 3 KB record is cheaper left in Standard (S3 applies
the same minimum by default; it is stated here so the rule says what it does)."""
ARCHIVE_NONCURRENT_DAYS = 30
"""An overwritten or deleted archive object stays recoverable this long (versioning)."""


def _removal(config: StageConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


def _billing(config: StageConfig) -> tuple[dynamodb.BillingMode, int | None, int | None]:
    """The table's billing mode and its (read, write) capacity for the stage's ``tableCapacity``.

    Provisioned: the template's capacity is the floor. Auto scaling moves the live value;
    CloudFormation sets it again only when the template's value changes (a new floor).
    """
    capacity = config.table_capacity
    if isinstance(capacity, ProvisionedCapacity):
        return dynamodb.BillingMode.PROVISIONED, capacity.min_read, capacity.min_write
    # On demand (the default): webhook traffic is bursty, and on demand takes twice the previous peak at once.
    return dynamodb.BillingMode.PAY_PER_REQUEST, None, None


def _auto_scale(table: dynamodb.Table, capacity: ProvisionedCapacity) -> None:
    """Target tracking on consumed / provisioned, for writes and reads (Application Auto Scaling,
    through the DynamoDB service-linked role). It reacts in minutes; until then a burst is taken
    by the table's burst capacity or throttled (a 5xx: the provider retries; docs/DEPLOYING.md)."""
    table.auto_scale_write_capacity(
        min_capacity=capacity.min_write, max_capacity=capacity.max_write
    ).scale_on_utilization(target_utilization_percent=capacity.target_utilization)
    table.auto_scale_read_capacity(
        min_capacity=capacity.min_read, max_capacity=capacity.max_read
    ).scale_on_utilization(target_utilization_percent=capacity.target_utilization)


def create_table(scope: Construct, config: StageConfig, key: kms.IKey) -> dynamodb.Table:
    billing_mode, read_capacity, write_capacity = _billing(config)
    table = dynamodb.Table(
        scope,
        "WebhookTable",
        table_name=config.names.table,
        partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
        billing_mode=billing_mode,
        read_capacity=read_capacity,
        write_capacity=write_capacity,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True, recovery_period_in_days=PITR_RECOVERY_DAYS
        ),
        # The audit logs old -> new status; the outbox queues every new webhook (no index needed).
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        time_to_live_attribute=TTL_ATTRIBUTE,  # epoch seconds; RETENTION_DAYS after receipt
        deletion_protection=config.retain_data,
        removal_policy=_removal(config),
    )
    if isinstance(config.table_capacity, ProvisionedCapacity):
        _auto_scale(table, config.table_capacity)
    return table


def create_archive_bucket(scope: Construct, config: StageConfig, key: kms.IKey) -> s3.Bucket:
    """The webhook archive (chalicelib/archive.py): every webhook record the table's TTL removes.

    SSE-KMS with the stage key (bucket keys: one KMS call per bucket and object burst, not per
    object), versioned, public access blocked, TLS only, never expired: payments never expire
    either. Kept when a data-retaining stage (prod) is deleted.
    """
    return s3.Bucket(
        scope,
        "ArchiveBucket",
        bucket_name=f"{config.names.archive_bucket}-{Aws.ACCOUNT_ID}",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="archived-records-to-glacier-ir",
                prefix=ARCHIVE_RECORD_PREFIX,  # not the id pointers: a few dozen bytes each
                object_size_greater_than=ARCHIVE_COLD_MIN_BYTES,
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                        transition_after=Duration.days(ARCHIVE_COLD_AFTER_DAYS),
                    )
                ],
            ),
            s3.LifecycleRule(
                id="old-versions",
                noncurrent_version_expiration=Duration.days(ARCHIVE_NONCURRENT_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            ),
        ],
        removal_policy=_removal(config),
    )


PLACEHOLDER_DOCUMENT: dict[str, dict[str, object]] = {"sources": {}}
"""A valid sources document with no source: until an operator writes the real one, every
``/webhook/<source>`` answers 404, and nothing secret was ever in the template."""


def create_sources_secret(scope: Construct, config: StageConfig, key: kms.IKey) -> secretsmanager.CfnSecret:
    """The stage's sources secret (its ``ref`` is its ARN).

    The L1 resource on purpose: the L2 ``Secret`` adds statements for Secrets Manager to the key
    policy, which the account statement already covers; the key policy stays minimal.
    """
    secret = secretsmanager.CfnSecret(
        scope,
        "SourcesSecret",
        name=config.names.sources_secret,
        description=(
            f"payment-webhooks {config.stage}: webhook sources and their signing secrets. Written by "
            "operators (see README, Deploying); CloudFormation only creates it."
        ),
        kms_key_id=key.key_arn,
        # Secrets Manager generates the initial value at creation: the template carries only this
        # empty shape, never a secret. Do not change these settings later: CloudFormation would
        # generate a new value and overwrite the operators' one.
        generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
            secret_string_template=json.dumps(PLACEHOLDER_DOCUMENT),
            generate_string_key="createdBy",
            exclude_punctuation=True,
        ),
    )
    secret.apply_removal_policy(_removal(config))
    return secret
