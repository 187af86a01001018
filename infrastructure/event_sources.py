"""The event-source settings Chalice cannot express, shared by the stack and by ``ops``.

The stack (``infrastructure.chalice_app``) writes them into the template; ``python -m ops
fix-event-sources`` sets them on a stage deployed with plain ``chalice deploy``. Both read them
from here and from the stage's settings (``infrastructure.stage_config``), so the two paths cannot
drift. This module imports neither the CDK nor boto3: ``ops`` imports it on every command.
"""

from __future__ import annotations

import json
from typing import Any

from infrastructure.stage_config import StageConfig

PARTIAL_BATCH_RESPONSES = ("ReportBatchItemFailures",)
"""Both handlers return ``{"batchItemFailures": [...]}``: only the failed messages (SQS) or the
stream from the first failed record on (DynamoDB) are retried, not the whole batch."""
AUDIT_MAX_RETRY_ATTEMPTS = 5
"""Retries of a failing stream batch (after bisecting it) before its records go to the
audit-failure queue. The default, -1, retries until the record expires and blocks the shard."""
AUDIT_MAX_RECORD_AGE_SECONDS = 6 * 3600
"""Records older than this (seconds) go to the audit-failure queue instead of being retried:
well inside the stream's 24 h retention, so nothing expires unseen."""
AUDIT_BISECT_ON_ERROR = True
"""A crashing batch is split in two, repeatedly, to isolate the record that fails."""
AUDIT_STARTING_POSITION = "TRIM_HORIZON"
"""Start from the oldest record still in the stream: a (re)created mapping audits what happened
while it did not exist, rather than skipping it (LATEST, Chalice's default). Lambda cannot change
this on an existing mapping, so ``ops fix-event-sources`` reports it rather than setting it."""


ENQUEUE_MAX_RETRY_ATTEMPTS = 10
"""Retries of a failing outbox batch (bisected) before its records go to the enqueue-failure
queue. More than the audit's: a failed send is nearly always SQS or KMS throttling, which passes."""
ENQUEUE_MAX_RECORD_AGE_SECONDS = 6 * 3600
"""As the audit's: well inside the stream's 24 h, so ``ops requeue --from-failures`` can still
read a given-up record's range from the stream for hours after its alarm."""
ENQUEUE_BISECT_ON_ERROR = True
ENQUEUE_STARTING_POSITION = "TRIM_HORIZON"
"""From the oldest record in the stream: a (re)created mapping queues what was stored while it did
not exist. Every webhook stored since is sent, which is harmless: processing is idempotent."""
ENQUEUE_FILTER_CRITERIA: dict[str, Any] = {
    "Filters": [
        {
            "Pattern": json.dumps(
                {
                    "eventName": ["INSERT"],
                    "dynamodb": {"NewImage": {"itemType": {"S": ["webhook"]}, "status": {"S": ["received"]}}},
                },
                separators=(",", ":"),
            )
        }
    ]
}
"""Lambda invokes the outbox only for new webhook records (chalicelib/outbox.py checks again: the
local stack has no filters). Markers, payments and every update are dropped before any invocation."""


def processor_settings(config: StageConfig) -> dict[str, Any]:
    """The SQS mapping's settings, as the Lambda API (and the SAM ``SQS`` event) names them."""
    return {
        "FunctionResponseTypes": list(PARTIAL_BATCH_RESPONSES),
        "ScalingConfig": {"MaximumConcurrency": config.processor_max_concurrency},
    }


def audit_settings(audit_failure_queue_arn: str) -> dict[str, Any]:
    """The stream mapping's settings, as the Lambda API (and the SAM ``DynamoDB`` event) names
    them. What is given up on is not lost: its shard, sequence numbers and the error land in the
    audit-failure queue, and an alarm watches it."""
    return {
        "FunctionResponseTypes": list(PARTIAL_BATCH_RESPONSES),
        "BisectBatchOnFunctionError": AUDIT_BISECT_ON_ERROR,
        "MaximumRetryAttempts": AUDIT_MAX_RETRY_ATTEMPTS,
        "MaximumRecordAgeInSeconds": AUDIT_MAX_RECORD_AGE_SECONDS,
        "DestinationConfig": {"OnFailure": {"Destination": audit_failure_queue_arn}},
    }


def enqueuer_settings(enqueue_failure_queue_arn: str) -> dict[str, Any]:
    """The outbox's stream mapping (chalicelib/outbox.py), as the Lambda API names it: as the
    audit's, with its own on-failure queue (alarmed), and filter criteria."""
    return {
        "FunctionResponseTypes": list(PARTIAL_BATCH_RESPONSES),
        "BisectBatchOnFunctionError": ENQUEUE_BISECT_ON_ERROR,
        "MaximumRetryAttempts": ENQUEUE_MAX_RETRY_ATTEMPTS,
        "MaximumRecordAgeInSeconds": ENQUEUE_MAX_RECORD_AGE_SECONDS,
        "DestinationConfig": {"OnFailure": {"Destination": enqueue_failure_queue_arn}},
        "FilterCriteria": ENQUEUE_FILTER_CRITERIA,
    }
