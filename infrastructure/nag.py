"""cdk-nag: the AwsSolutions pack runs on every synthesis; these are the findings we accept.

Each suppression is scoped to one resource and, for IAM findings, to the exact wildcard it
accepts (``applies_to``), so a new wildcard anywhere still fails the build. The reasons are written
for the security reviewer who reads them in the synthesized metadata.
"""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

from infrastructure.api_stage import API_GATEWAY_LOGS_POLICY
from infrastructure.names import AUDITOR, ENQUEUER, FUNCTIONS

XRAY_RESOURCE_STAR = NagPackSuppression(
    id="AwsSolutions-IAM5",
    applies_to=["Resource::*"],
    reason=(
        "Only xray:PutTraceSegments and xray:PutTelemetryRecords are granted on '*': X-Ray defines no "
        "resource types, so these actions cannot be scoped to a resource (see the Service Authorization "
        "Reference for AWS X-Ray). They only write trace data. Every other statement of this role "
        "names exact ARNs."
    ),
)
TABLE_STREAMS_WILDCARD = NagPackSuppression(
    id="AwsSolutions-IAM5",
    applies_to=[RegexAppliesTo(regex=r"/^Resource::<WebhookTable[0-9A-F]{8}\.Arn>\/stream\/\*$/")],
    reason=(
        "dynamodb:ListStreams is granted on this stage's table's streams only (table/<name>/stream/*): "
        "a stream's ARN ends with a label DynamoDB assigns when the stream is created, so it cannot "
        "be named in advance. The read actions (DescribeStream, GetRecords, GetShardIterator) are "
        "granted on the exact stream ARN."
    ),
)
ARCHIVE_PREFIX_WILDCARDS = NagPackSuppression(
    id="AwsSolutions-IAM5",
    applies_to=[
        RegexAppliesTo(regex=r"/^Resource::<ArchiveBucket[0-9A-F]{8}\.Arn>\/webhooks\/\*$/"),
        RegexAppliesTo(regex=r"/^Resource::<ArchiveBucket[0-9A-F]{8}\.Arn>\/webhook-ids\/\*$/"),
    ],
    reason=(
        "s3:PutObject only, on the webhook archive's two key prefixes (webhooks/ for the records, "
        "webhook-ids/ for the id pointers): the audit archives every record the table's TTL removes, "
        "and an object's key is the record's source, day and id, unknown in advance. No read, list "
        "or delete is granted; the bucket is versioned, so even an overwrite keeps the earlier copy."
    ),
)
ARCHIVE_ACCESS_LOGS = NagPackSuppression(
    id="AwsSolutions-S1",
    reason=(
        "The stack has no other bucket and no log bucket to deliver S3 server access logs to (a log "
        "bucket would itself be a bucket without access logs). Writes to the archive come from one "
        "role, the audit function's, whose every archived record is also an audit log line "
        "(archivedAs); reads are operators' (ops show, ops payment --rebuild) and are recorded by "
        "CloudTrail data events where the account enables them (docs/DEPLOYING.md)."
    ),
)
API_GATEWAY_LOGGING_MANAGED_POLICY = NagPackSuppression(
    id="AwsSolutions-IAM4",
    applies_to=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/{API_GATEWAY_LOGS_POLICY}"],
    reason=(
        "This role is assumable only by apigateway.amazonaws.com and is the account-level role API "
        "Gateway writes access and execution logs with. AmazonAPIGatewayPushToCloudWatchLogs is the "
        "policy AWS documents for it and keeps current; it grants CloudWatch Logs writes only, and "
        "log group names of other APIs are not known to this stack."
    ),
)
SECRET_ROTATION = NagPackSuppression(
    id="AwsSolutions-SMG4",
    reason=(
        "The secret holds webhook signing secrets that each payment provider issues in its own "
        "dashboard (Stripe, Square, PayPal, Adyen, Standard Webhooks senders); no rotation Lambda "
        "can create one. Rotation is an operator procedure with no downtime: add the new secret next "
        "to the old, switch the provider, remove the old (README: 'Rotating a secret with no "
        "downtime'). Access is limited to the receiver's role and the stage's KMS key."
    ),
)
AUDIT_FAILURE_QUEUE_HAS_NO_DLQ = NagPackSuppression(
    id="AwsSolutions-SQS3",
    reason=(
        "This queue is itself a dead-letter destination: the on-failure destination of the audit "
        "function's DynamoDB stream mapping. Nothing consumes it automatically, so no message can "
        "fail processing and need a further DLQ; it keeps records for 14 days (the maximum) and "
        "the <stage>-audit-failures-not-empty alarm pages on the first message."
    ),
)


ENQUEUE_FAILURE_QUEUE_HAS_NO_DLQ = NagPackSuppression(
    id="AwsSolutions-SQS3",
    reason=(
        "This queue is itself a dead-letter destination: the on-failure destination of the outbox "
        "function's DynamoDB stream mapping. Nothing consumes it automatically (an operator runs "
        "`ops requeue --from-failures`), it keeps records for 14 days (the maximum) and the "
        "<stage>-enqueue-failures-not-empty alarm pages on the first message."
    ),
)


def _suppress(construct: IConstruct, *suppressions: NagPackSuppression) -> None:
    NagSuppressions.add_resource_suppressions(construct, list(suppressions), apply_to_children=True)


def suppress_reviewed_findings(stack: Stack) -> None:
    """Attach each accepted finding to the one resource it is about."""
    chalice = stack.node.find_child("PaymentWebhooksApp")
    for function in FUNCTIONS:
        role = chalice.sam_template.get_resource(function.role_logical_id)  # type: ignore[attr-defined]  # an IConstruct: the Chalice one
        _suppress(role, XRAY_RESOURCE_STAR)
        if function is AUDITOR:
            _suppress(role, TABLE_STREAMS_WILDCARD, ARCHIVE_PREFIX_WILDCARDS)
        if function is ENQUEUER:
            _suppress(role, TABLE_STREAMS_WILDCARD)
    gateway_role = stack.node.try_find_child("ApiGatewayCloudWatchRole")
    if gateway_role is not None:
        _suppress(gateway_role, API_GATEWAY_LOGGING_MANAGED_POLICY)
    _suppress(stack.node.find_child("SourcesSecret"), SECRET_ROTATION)
    _suppress(stack.node.find_child("AuditFailureQueue"), AUDIT_FAILURE_QUEUE_HAS_NO_DLQ)
    _suppress(stack.node.find_child("EnqueueFailureQueue"), ENQUEUE_FAILURE_QUEUE_HAS_NO_DLQ)
    _suppress(stack.node.find_child("ArchiveBucket"), ARCHIVE_ACCESS_LOGS)
