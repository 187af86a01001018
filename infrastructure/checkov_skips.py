"""checkov: the findings we accept, each written on the one resource it is about.

checkov (``make synth``, ``tests/infrastructure/test_checkov.py``) reads skips from a resource's
``Metadata.checkov.skip``: ``{"id": ..., "comment": ...}``. Every skip here names one check on one
resource and says why, for the reviewer who reads the template; ``infrastructure.checkov_scan``
fails on a finding without a skip and on a skip without a reason. A new resource of the same kind
is not covered by these: checkov reports it, and someone decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

from infrastructure.names import (
    API_HANDLER,
    AUDITOR,
    ENQUEUER,
    FUNCTIONS,
    PROCESSOR,
    RECONCILER,
    REST_API_LOGICAL_ID,
)


@dataclass(frozen=True)
class Skip:
    check_id: str
    comment: str


NO_VPC = Skip(
    "CKV_AWS_117",
    "The function reaches only AWS service APIs (DynamoDB, SQS, SNS, Secrets Manager, KMS, X-Ray) "
    "and, for PayPal, the provider's certificate host, all over TLS with IAM or the provider's PKI; "
    "there is no private resource to reach. A VPC would add NAT gateways or six interface "
    "endpoints per stage and protect nothing more.",
)
NO_RESERVED_CONCURRENCY = Skip(
    "CKV_AWS_115",
    "Reserved concurrency is configurable per function (cdk.json reservedConcurrency) and off by "
    "default: a new account can have as few as 10 unreserved executions, and Lambda refuses to "
    "reserve the last 10, which fails the deployment. The processor is bounded by its event "
    "source's MaximumConcurrency instead.",
)
ENVIRONMENT_HOLDS_NO_SECRET = Skip(
    "CKV_AWS_173",
    "The environment holds resource names, ARNs and tuning numbers only; every signing secret is "
    "in the stage's Secrets Manager secret, encrypted with the stage key and read at run time. "
    "Lambda encrypts environment variables at rest with its service key already.",
)
LOGS_WITH_SERVICE_ENCRYPTION = Skip(
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest with its service key. These logs hold no "
    "secrets: the app never logs a secret or signature (tests/leakcheck.py fails any test that "
    "does), WAF logs redact the signature headers and API Gateway logs no request data.",
)
NO_API_CACHE = Skip(
    "CKV_AWS_120",
    "The API has one route, POST /webhook/{source}; every request is a distinct signed event that "
    "must reach the receiver. A cache would answer a provider's delivery from an earlier one, "
    "and API Gateway does not cache POST by default anyway.",
)
ARCHIVE_WITHOUT_ACCESS_LOGS = Skip(
    "CKV_AWS_18",
    "The webhook archive is the stack's only bucket: there is no log bucket to deliver S3 server "
    "access logs to. Its only writer is the audit function's role (PutObject on two prefixes), and "
    "every object it writes is also an audit log line (archivedAs); reads are operators' and are "
    "recorded by CloudTrail data events where the account enables them (docs/DEPLOYING.md).",
)
ASYNC_ON_FAILURE_ELSEWHERE = {
    API_HANDLER: Skip(
        "CKV_AWS_116",
        "API Gateway invokes the receiver synchronously: a failure is answered 5xx to the provider, "
        "which retries the delivery. A Lambda dead-letter queue only catches asynchronous "
        "invocations and would never receive anything here.",
    ),
    PROCESSOR: Skip(
        "CKV_AWS_116",
        "Invoked by its SQS event source mapping, not asynchronously: failed messages return to the "
        "processing queue and, after MAX_RECEIVES, move to its dead-letter queue, which an alarm "
        "watches. A function-level DLQ applies only to asynchronous invocations.",
    ),
    AUDITOR: Skip(
        "CKV_AWS_116",
        "Invoked by its DynamoDB stream mapping, not asynchronously: records it gives up on go to "
        "the mapping's on-failure destination, the audit-failures queue, which an alarm watches. "
        "A function-level DLQ applies only to asynchronous invocations.",
    ),
    ENQUEUER: Skip(
        "CKV_AWS_116",
        "Invoked by its DynamoDB stream mapping, not asynchronously: records it gives up on go to "
        "the mapping's on-failure destination, the enqueue-failures queue, which an alarm watches. "
        "A function-level DLQ applies only to asynchronous invocations.",
    ),
    RECONCILER: Skip(
        "CKV_AWS_116",
        "The schedule invokes it; a failed run leaves its cursors where they were and the next run "
        "lists the same windows again, and its errors alarm. A queued copy of a failed schedule "
        "event would carry nothing worth replaying.",
    ),
}
"""CKV_AWS_116 (a dead-letter queue per function): why each function needs none of its own."""


def _metadata_skips(skips: Iterable[Skip]) -> list[dict[str, str]]:
    return [{"id": skip.check_id, "comment": skip.comment} for skip in skips]


def _cfn(construct: IConstruct) -> CfnResource:
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    return resource


def _skip(resource: IConstruct, *skips: Skip) -> None:
    _cfn(resource).add_metadata("checkov", {"skip": _metadata_skips(skips)})


def skipped_checks(resources: Mapping[str, object]) -> dict[str, list[dict[str, str]]]:
    """The skips of a synthesized template's resources, by logical id (for the tests)."""
    found: dict[str, list[dict[str, str]]] = {}
    for logical_id, resource in resources.items():
        metadata = resource.get("Metadata", {}) if isinstance(resource, dict) else {}
        skips = metadata.get("checkov", {}).get("skip")
        if skips:
            found[logical_id] = list(skips)
    return found


def skip_reviewed_findings(stack: Stack) -> None:
    """Attach each accepted checkov finding to the one resource it is about."""
    chalice = stack.node.find_child("PaymentWebhooksApp")
    get = chalice.get_resource  # type: ignore[attr-defined]  # find_child types an IConstruct: it is Chalice's
    for function in FUNCTIONS:
        _skip(
            get(function.logical_id),
            ASYNC_ON_FAILURE_ELSEWHERE[function],
            NO_VPC,
            NO_RESERVED_CONCURRENCY,
            ENVIRONMENT_HOLDS_NO_SECRET,
        )
        if function.log_group_logical_id is not None:
            _skip(get(function.log_group_logical_id), LOGS_WITH_SERVICE_ENCRYPTION)
    for log_group in ("ApiHandlerLogGroup", "ApiAccessLogs", "ApiExecutionLogs", "WafLogs"):
        _skip(stack.node.find_child(log_group), LOGS_WITH_SERVICE_ENCRYPTION)
    _skip(get(REST_API_LOGICAL_ID), NO_API_CACHE)
    _skip(stack.node.find_child("ArchiveBucket"), ARCHIVE_WITHOUT_ACCESS_LOGS)
