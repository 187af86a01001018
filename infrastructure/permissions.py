"""What each Lambda function may do, declared once and rendered twice.

Each function gets its own role with only the actions it calls, on only its resources:

- ``api_handler`` (receiver): read the sources secret, put/get webhook records and count a
  conflicting delivery on one (writes only on keys ``wh_...``: it cannot overwrite a payment
  record), put/get the dedupe and transmission markers (keys ``seen#...``, ``tx#...`` only), queue
  the ids of duplicates still ``received`` past the resend delay (new ones are the outbox's);
- ``process_webhooks``: consume the processing queue, read webhook and payment records (one
  ``BatchGetItem`` per batch, then single reads), update webhook records (keys ``wh_...`` only),
  create and replace payment records (``PutItem`` only on keys ``payment#...``: it cannot
  overwrite a webhook record), publish payment events, read the sources secret (the source
  options normalizers read, such as Adyen's ``autoCapture``);
- ``audit_changes``: read the table's stream, publish alerts, dead-letter records it cannot audit
  (the stream's on-failure destination is written with the function's role), archive the webhook
  records the TTL removes (``PutObject`` on the archive's two prefixes only: it cannot read,
  list or delete an archived object);
- ``enqueue_new_webhooks`` (the outbox): read the table's stream, send ids to the processing
  queue, and dead-letter the stream records it could not queue (its on-failure destination);
- ``reconcile_missed_webhooks``: read the sources secret (the providers' API credentials), read
  and create webhook records (keys ``wh_...``) and its cursors (keys ``cursor#...``), queue ids,
  publish alerts. It cannot update a webhook record nor touch a payment record.

The IAM-enforced tests (tests/infrastructure/iam_enforced/) run each function's flows on moto under
the policy the synthesized template gives its role, so a call missing here fails a test.

The CDK stack renders these grants with the exact ARNs of the resources it creates
(:mod:`infrastructure.chalice_app`); :func:`chalice_policy_document` renders them by name for the
plain-Chalice path (``chalice deploy``/``chalice package``), into ``.chalice/policy-<stage>-
<function>.json``, which ``python -m infrastructure.permissions`` regenerates and a test keeps in
sync. Only the ARN patterns differ: Chalice's policy files cannot know the account, the region or
the stream label, so there those parts are wildcards.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from infrastructure.names import (
    API_HANDLER,
    AUDITOR,
    ENQUEUER,
    FUNCTIONS,
    PROCESSOR,
    RECONCILER,
    STAGES,
    ChaliceFunction,
    StageNames,
)

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
PAYMENT_KEY_PREFIX = "payment#"  # chalicelib.payments.keys.KEY_PREFIX
WEBHOOK_KEY_PREFIX = "wh_"  # chalicelib.webhooks.record.WEBHOOK_ID_PREFIX
MARKER_KEY_PREFIXES = ("seen#", "tx#")  # chalicelib.webhooks.record.DEDUPE_KEY_PREFIX, TRANSMISSION_KEY_PREFIX
CURSOR_KEY_PREFIX = "cursor#"  # chalicelib.reconcile.cursor.CURSOR_KEY_PREFIX


class Target(Enum):
    TABLE = "the webhook table"
    TABLE_STREAM = "the table's stream"
    TABLE_STREAMS = "any stream of the table (ListStreams cannot name one)"
    PROCESSING_QUEUE = "the processing queue"
    AUDIT_FAILURE_QUEUE = "the queue of stream records the audit could not handle"
    ENQUEUE_FAILURE_QUEUE = "the queue of stream records the outbox could not queue"
    ALERTS_TOPIC = "the alerts topic"
    PAYMENT_EVENTS_TOPIC = "the payment-events topic"
    SOURCES_SECRET = "the sources secret"
    ARCHIVE_RECORDS = "the archived webhook records (webhooks/...)"
    ARCHIVE_POINTERS = "the archive's webhook id pointers (webhook-ids/...)"


@dataclass(frozen=True)
class Grant:
    """Some actions on one resource, and what using that resource needs from the KMS key.

    Every resource here is encrypted with the stage's key; the service calls KMS with the caller's
    credentials, so the caller needs the key actions too, and only through that service.
    """

    sid: str
    target: Target
    actions: tuple[str, ...]
    key_actions: tuple[str, ...]
    via_service: str
    """The service prefix the key is used through (the ``kms:ViaService`` condition)."""
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    """IAM conditions, identical in both renderings (no ARNs in them)."""


_READ = ("kms:Decrypt",)
_WRITE = ("kms:Decrypt", "kms:GenerateDataKey")
_TABLE_READ = ("kms:Decrypt", "kms:DescribeKey")
_TABLE_WRITE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def _only_keys(*prefixes: str) -> Mapping[str, Mapping[str, Any]]:
    """Every key the call touches starts with one of ``prefixes`` (``ForAllValues``: a request for
    several keys is refused if any one does not)."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*" for prefix in prefixes]}}


READ_SOURCES_SECRET = Grant(
    "ReadSourcesSecret", Target.SOURCES_SECRET, ("secretsmanager:GetSecretValue",), _READ, "secretsmanager"
)
"""The receiver, the processor (source options) and the reconciler read the sources secret."""

FUNCTION_GRANTS: Mapping[str, tuple[Grant, ...]] = {
    API_HANDLER.name: (
        READ_SOURCES_SECRET,
        # UpdateItem: counting a conflicting delivery on the record (ADD conflictingDeliveries).
        Grant(
            "StoreWebhooks",
            Target.TABLE,
            ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
            _TABLE_WRITE,
            "dynamodb",
            conditions=_only_keys(WEBHOOK_KEY_PREFIX),
        ),
        # Key-only markers that outlive the records (replays, one body per transmission id).
        Grant(
            "StoreDedupeMarkers",
            Target.TABLE,
            ("dynamodb:GetItem", "dynamodb:PutItem"),
            _TABLE_WRITE,
            "dynamodb",
            conditions=_only_keys(*MARKER_KEY_PREFIXES),
        ),
        # GetQueueUrl: only when PROCESSING_QUEUE_URL is unset (the plain-Chalice path).
        Grant(
            "QueueWebhooks", Target.PROCESSING_QUEUE, ("sqs:GetQueueUrl", "sqs:SendMessage"), _WRITE, "sqs"
        ),
    ),
    PROCESSOR.name: (
        # The three actions Lambda's SQS poller needs (AWSLambdaSQSQueueExecutionRole's, scoped).
        Grant(
            "ConsumeProcessingQueue",
            Target.PROCESSING_QUEUE,
            ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
            _READ,
            "sqs",
        ),
        # WebhookStore.load and PaymentStore.prefetch read a batch's records in one call; the
        # payment store reads a record again (GetItem) when a conditional put lost a race.
        Grant(
            "ReadRecords",
            Target.TABLE,
            ("dynamodb:BatchGetItem", "dynamodb:GetItem"),
            _TABLE_READ,
            "dynamodb",
        ),
        Grant(
            "FinishWebhooks",
            Target.TABLE,
            ("dynamodb:UpdateItem",),
            _TABLE_WRITE,
            "dynamodb",
            conditions=_only_keys(WEBHOOK_KEY_PREFIX),
        ),
        Grant(
            "WritePaymentRecords",
            Target.TABLE,
            ("dynamodb:PutItem",),
            _TABLE_WRITE,
            "dynamodb",
            # Every key of the put must be a payment record's (chalicelib/payments/record.py).
            conditions=_only_keys(PAYMENT_KEY_PREFIX),
        ),
        # sns:Publish also authorizes PublishBatch, which the payment-event publisher uses.
        Grant("PublishPaymentEvents", Target.PAYMENT_EVENTS_TOPIC, ("sns:Publish",), _WRITE, "sns"),
        # The source options normalizers read (Adyen autoCapture); refused, the message is retried.
        READ_SOURCES_SECRET,
    ),
    AUDITOR.name: (
        Grant(
            "ReadTableStream",
            Target.TABLE_STREAM,
            ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
            _TABLE_READ,
            "dynamodb",
        ),
        Grant("ListTableStreams", Target.TABLE_STREAMS, ("dynamodb:ListStreams",), _TABLE_READ, "dynamodb"),
        Grant("PublishAlerts", Target.ALERTS_TOPIC, ("sns:Publish",), _WRITE, "sns"),
        Grant("DeadLetterStreamRecords", Target.AUDIT_FAILURE_QUEUE, ("sqs:SendMessage",), _WRITE, "sqs"),
        # S3 asks KMS for a data key with the caller's credentials (SSE-KMS bucket default); a
        # PutObject never needs to decrypt. Objects only: no list, no read, no delete.
        Grant("ArchiveRemovedWebhooks", Target.ARCHIVE_RECORDS, ("s3:PutObject",), ("kms:GenerateDataKey",), "s3"),
        Grant("ArchiveWebhookIds", Target.ARCHIVE_POINTERS, ("s3:PutObject",), ("kms:GenerateDataKey",), "s3"),
    ),
    ENQUEUER.name: (
        Grant(
            "ReadTableStream",
            Target.TABLE_STREAM,
            ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
            _TABLE_READ,
            "dynamodb",
        ),
        Grant("ListTableStreams", Target.TABLE_STREAMS, ("dynamodb:ListStreams",), _TABLE_READ, "dynamodb"),
        # GetQueueUrl: only when PROCESSING_QUEUE_URL is unset (the plain-Chalice path).
        Grant(
            "QueueNewWebhooks", Target.PROCESSING_QUEUE, ("sqs:GetQueueUrl", "sqs:SendMessage"), _WRITE, "sqs"
        ),
        Grant("DeadLetterStreamRecords", Target.ENQUEUE_FAILURE_QUEUE, ("sqs:SendMessage",), _WRITE, "sqs"),
    ),
    RECONCILER.name: (
        READ_SOURCES_SECRET,
        # Which listed events are stored (BatchGetItem), the cursor (GetItem; also put_new's read
        # after a lost race), new records and moved cursors (conditional PutItem).
        Grant(
            "StoreReconciledWebhooks",
            Target.TABLE,
            ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"),
            _TABLE_WRITE,
            "dynamodb",
            conditions=_only_keys(WEBHOOK_KEY_PREFIX, CURSOR_KEY_PREFIX),
        ),
        Grant(
            "QueueWebhooks", Target.PROCESSING_QUEUE, ("sqs:GetQueueUrl", "sqs:SendMessage"), _WRITE, "sqs"
        ),
        Grant("PublishAlerts", Target.ALERTS_TOPIC, ("sns:Publish",), _WRITE, "sns"),
    ),
}

TRACING_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
"""X-Ray has no resource-level permissions: these two only work on ``*``."""
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def key_actions(function: ChaliceFunction) -> tuple[str, ...]:
    return tuple(sorted({action for grant in FUNCTION_GRANTS[function.name] for action in grant.key_actions}))


def key_services(function: ChaliceFunction) -> tuple[str, ...]:
    return tuple(sorted({grant.via_service for grant in FUNCTION_GRANTS[function.name]}))


def _named_arns(names: StageNames) -> dict[Target, str]:
    table = f"arn:*:dynamodb:*:*:table/{names.table}"
    return {
        Target.TABLE: table,
        Target.TABLE_STREAM: f"{table}/stream/*",
        Target.TABLE_STREAMS: f"{table}/stream/*",
        Target.PROCESSING_QUEUE: f"arn:*:sqs:*:*:{names.processing_queue}",
        Target.AUDIT_FAILURE_QUEUE: f"arn:*:sqs:*:*:{names.audit_failure_queue}",
        Target.ENQUEUE_FAILURE_QUEUE: f"arn:*:sqs:*:*:{names.enqueue_failure_queue}",
        Target.ALERTS_TOPIC: f"arn:*:sns:*:*:{names.alerts_topic}",
        Target.PAYMENT_EVENTS_TOPIC: f"arn:*:sns:*:*:{names.payment_events_topic}",
        # Secrets Manager appends "-" and six random characters to every secret's ARN.
        Target.SOURCES_SECRET: f"arn:*:secretsmanager:*:*:secret:{names.sources_secret}-??????",
        # The stack appends the account id to the bucket's name (bucket names are global).
        Target.ARCHIVE_RECORDS: f"arn:*:s3:::{names.archive_bucket}-*/webhooks/*",
        Target.ARCHIVE_POINTERS: f"arn:*:s3:::{names.archive_bucket}-*/webhook-ids/*",
    }


def chalice_policy_document(names: StageNames, function: ChaliceFunction) -> dict[str, Any]:
    """The IAM policy ``chalice deploy``/``package`` attaches to ``function``'s role in a stage."""
    arns = _named_arns(names)
    log_group = f"/aws/lambda/{names.chalice_function_name(function)}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            # CreateLogGroup too: Chalice creates log groups only where config.json sets a retention.
            "Action": ["logs:CreateLogGroup", *LOG_ACTIONS],
            "Resource": f"arn:*:logs:*:*:log-group:{log_group}:*",
        },
        {"Sid": "Tracing", "Effect": "Allow", "Action": list(TRACING_ACTIONS), "Resource": "*"},
    ]
    for grant in FUNCTION_GRANTS[function.name]:
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Action": list(grant.actions),
            "Resource": arns[grant.target],
        }
        if grant.conditions:
            statement["Condition"] = {operator: dict(values) for operator, values in grant.conditions.items()}
        statements.append(statement)
    statements.append(
        {
            "Sid": "UseStageKeyThroughServices",
            "Effect": "Allow",
            "Action": list(key_actions(function)),
            "Resource": "arn:*:kms:*:*:key/*",
            "Condition": {
                # kms:ResourceAliases matches the key however the service names it (by ARN);
                # kms:RequestAlias would only match requests that name the alias, i.e. none.
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": names.key_alias},
                "StringLike": {
                    "kms:ViaService": [f"{service}.*.amazonaws.com" for service in key_services(function)]
                },
            },
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_file_name(stage: str, function: ChaliceFunction) -> str:
    return f"policy-{stage}-{function.name}.json"


def render_policy_files() -> dict[str, str]:
    """File name -> content of every per-function policy file in ``.chalice/``."""
    return {
        policy_file_name(stage, function): json.dumps(
            chalice_policy_document(StageNames(stage), function), indent=2
        )
        + "\n"
        for stage in STAGES
        for function in FUNCTIONS
    }


def main() -> int:
    """Write ``.chalice/policy-<stage>-<function>.json`` from :data:`FUNCTION_GRANTS`."""
    for name, content in render_policy_files().items():
        (CHALICE_DIR / name).write_text(content)
        print(f"wrote .chalice/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
