"""The Chalice app inside the stack, and what the stack adds to what ``chalice package`` emits.

``chalice.cdk.Chalice`` runs ``chalice package`` for the stage (the stack's id *is* the Chalice
stage: the construct takes the stage name from its scope) and includes the resulting SAM template.
Chalice declares the functions, their triggers and roles from ``app.py`` and
``.chalice/config.json``; it cannot declare:

- environment values only known at deploy time (ARNs, the queue URL): passed as ``stage_config``
  tokens, which CloudFormation resolves;
- where the triggers point: ``app.py``'s decorators read the queue name and stream ARN from the
  environment at import time, before any resource exists. The stack overrides both event sources
  with the real ARNs, which also makes CloudFormation create the queue and table first;
- event-source settings: partial batch responses for SQS and the stream, and for the stream
  bisect-on-error, bounded retries and record age, and an on-failure destination;
- per-function policies with exact ARNs: Chalice's policy files cannot know the account or the
  stream label, so the stack replaces each role's policy (see ``infrastructure.permissions``);
- reserved concurrency from context, and the API handler's log group (see ``names.API_HANDLER``);
- Lambda's logging controls (JSON format, system log level) and the audit's log class (see
  ``infrastructure.function_logging``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from aws_cdk import Aws, Fn, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sam as sam
from aws_cdk import aws_secretsmanager as secretsmanager
from chalice.cdk import Chalice

from infrastructure.event_sources import (
    AUDIT_STARTING_POSITION,
    ENQUEUE_STARTING_POSITION,
    audit_settings,
    enqueuer_settings,
    processor_settings,
)
from infrastructure.function_logging import configure_function_logging
from infrastructure.messaging import Messaging
from infrastructure.names import AUDITOR, ENQUEUER, FUNCTIONS, PROCESSOR, REST_API_LOGICAL_ID, ChaliceFunction
from infrastructure.permissions import (
    FUNCTION_GRANTS,
    LOG_ACTIONS,
    TRACING_ACTIONS,
    Target,
    key_actions,
    key_services,
)
from infrastructure.retention import retention
from infrastructure.stage_config import REPO_ROOT, StageConfig
from infrastructure.storage import ARCHIVE_POINTER_PREFIX, ARCHIVE_RECORD_PREFIX


@dataclass(frozen=True)
class AppResources:
    """The stack's resources the functions use."""

    key: kms.IKey
    table: dynamodb.Table
    secret: secretsmanager.CfnSecret
    messaging: Messaging
    archive: s3.IBucket


def _environment(config: StageConfig, resources: AppResources) -> dict[str, str]:
    """Variables that point the functions at this stack's resources (tokens resolved at deploy).

    ``chalice package`` also sets these in its own process before importing ``app.py``, so a value
    that the decorators use inside a ``Fn::Sub`` (the queue name) must be a plain string.
    """
    messaging = resources.messaging
    return {
        "STAGE": config.stage,
        "TRACING": "true",
        "WEBHOOK_TABLE_NAME": resources.table.table_name,
        "WEBHOOK_TABLE_STREAM_ARN": resources.table.table_stream_arn or "",
        "PROCESSING_QUEUE_NAME": config.names.processing_queue,
        "PROCESSING_QUEUE_URL": messaging.processing_queue.queue_url,
        "ALERTS_TOPIC_ARN": messaging.alerts_topic.topic_arn,
        "PAYMENT_EVENTS_TOPIC_ARN": messaging.payment_events_topic.topic_arn,
        "SOURCES_SECRET_ID": resources.secret.ref,  # the ARN
        "ARCHIVE_BUCKET_NAME": resources.archive.bucket_name,
    }


@contextmanager
def _pip_without_dependencies() -> Iterator[None]:
    """``chalice package`` runs pip; with ``PIP_NO_DEPS`` it installs exactly requirements.txt.

    requirements.txt lists every package that ships, dependencies included, except botocore: the
    Lambda runtime provides it, and aws-xray-sdk's declared dependency on it would otherwise put
    botocore and its own dependencies (16 MB zipped) into the package (docs/PERFORMANCE.md).
    """
    saved = os.environ.get("PIP_NO_DEPS")
    os.environ["PIP_NO_DEPS"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PIP_NO_DEPS", None)
        else:
            os.environ["PIP_NO_DEPS"] = saved


def include_chalice_app(stack: Stack, config: StageConfig, resources: AppResources) -> Chalice:
    if stack.node.id != config.stage:
        raise ValueError(f"the stack id must be the Chalice stage ({config.stage!r}), not {stack.node.id!r}")
    with _pip_without_dependencies():
        chalice = Chalice(
            stack,
            "PaymentWebhooksApp",
            source_dir=str(REPO_ROOT),
            # Merged over the stage in .chalice/config.json; per-function settings stay there.
            stage_config={"environment_variables": _environment(config, resources)},
        )
    _wire_event_sources(chalice, config, resources)
    _replace_policies(stack, chalice, config, resources)
    _reserve_concurrency(chalice, config.reserved_concurrency)
    configure_function_logging(chalice, config)
    return chalice


def function_resource(chalice: Chalice, function: ChaliceFunction) -> sam.CfnFunction:
    resource = chalice.get_resource(function.logical_id)
    assert isinstance(resource, sam.CfnFunction), f"{function.logical_id} is not a SAM function"
    return resource


def rest_api_resource(chalice: Chalice) -> sam.CfnApi:
    resource = chalice.get_resource(REST_API_LOGICAL_ID)
    assert isinstance(resource, sam.CfnApi), f"{REST_API_LOGICAL_ID} is not a SAM API"
    return resource


def _event_property(function: ChaliceFunction) -> str:
    return f"Events.{function.event_logical_id}.Properties"


def _wire_event_sources(chalice: Chalice, config: StageConfig, resources: AppResources) -> None:
    """Point both triggers at the stack's resources and add what Chalice cannot set.

    The settings themselves live in ``infrastructure.event_sources``, which ``python -m ops
    fix-event-sources`` applies to a Chalice-deployed stage: both paths get the same values.
    """
    messaging = resources.messaging
    processor = function_resource(chalice, PROCESSOR)
    sqs_event = _event_property(PROCESSOR)
    processor.add_property_override(f"{sqs_event}.Queue", messaging.processing_queue.queue_arn)
    # Partial batch responses, and at most N concurrent processors: a backlog drains at a bounded
    # rate instead of taking the account's unreserved concurrency and throttling the receiver.
    for name, value in processor_settings(config).items():
        processor.add_property_override(f"{sqs_event}.{name}", value)

    # The audit and the outbox (chalicelib/outbox.py) read the same stream, each with its own
    # on-failure queue; the outbox's settings add filter criteria, so that it is invoked only for
    # new webhook records.
    stream_arn = resources.table.table_stream_arn
    assert stream_arn is not None, "the webhook table is created with a stream (infrastructure/storage.py)"
    _wire_stream_consumer(chalice, AUDITOR, stream_arn, AUDIT_STARTING_POSITION,
                          audit_settings(messaging.audit_failure_queue.queue_arn),
                          messaging.audit_failure_queue.queue_arn)
    _wire_stream_consumer(chalice, ENQUEUER, stream_arn, ENQUEUE_STARTING_POSITION,
                          enqueuer_settings(messaging.enqueue_failure_queue.queue_arn),
                          messaging.enqueue_failure_queue.queue_arn)


def _wire_stream_consumer(chalice: Chalice, function: ChaliceFunction, stream_arn: str, starting_position: str,
                          settings: Mapping[str, object], failure_queue_arn: str) -> None:
    """Point ``function``'s DynamoDB stream event at the table's stream with its settings and its
    on-failure queue."""
    resource = function_resource(chalice, function)
    event = _event_property(function)
    overrides: dict[str, object] = {"Stream": stream_arn, "StartingPosition": starting_position, **settings}
    # SAM's DynamoDB event also wants the destination's type (the Lambda API does not take it).
    overrides["DestinationConfig"] = {"OnFailure": {"Type": "SQS", "Destination": failure_queue_arn}}
    for name, value in overrides.items():
        resource.add_property_override(f"{event}.{name}", value)

def _target_arns(resources: AppResources) -> dict[Target, str]:
    table = resources.table
    messaging = resources.messaging
    return {
        Target.TABLE: table.table_arn,
        Target.TABLE_STREAM: table.table_stream_arn or "",
        # ListStreams takes the table's streams, not one stream; the label is unknown before deploy.
        Target.TABLE_STREAMS: f"{table.table_arn}/stream/*",
        Target.PROCESSING_QUEUE: messaging.processing_queue.queue_arn,
        Target.AUDIT_FAILURE_QUEUE: messaging.audit_failure_queue.queue_arn,
        Target.ENQUEUE_FAILURE_QUEUE: messaging.enqueue_failure_queue.queue_arn,
        Target.ALERTS_TOPIC: messaging.alerts_topic.topic_arn,
        Target.PAYMENT_EVENTS_TOPIC: messaging.payment_events_topic.topic_arn,
        Target.SOURCES_SECRET: resources.secret.ref,
        Target.ARCHIVE_RECORDS: resources.archive.arn_for_objects(f"{ARCHIVE_RECORD_PREFIX}*"),
        Target.ARCHIVE_POINTERS: resources.archive.arn_for_objects(f"{ARCHIVE_POINTER_PREFIX}*"),
    }


def function_policy(function: ChaliceFunction, resources: AppResources) -> iam.PolicyDocument:
    """The role policy of ``function`` in the CDK stack: its grants, with exact ARNs."""
    arns = _target_arns(resources)
    statements = [
        iam.PolicyStatement(sid="Tracing", actions=list(TRACING_ACTIONS), resources=["*"]),
    ]
    for grant in FUNCTION_GRANTS[function.name]:
        statements.append(
            iam.PolicyStatement(
                sid=grant.sid,
                actions=list(grant.actions),
                resources=[arns[grant.target]],
                conditions={operator: dict(values) for operator, values in (grant.conditions or {}).items()}
                or None,
            )
        )
    statements.append(
        iam.PolicyStatement(
            sid="UseStageKeyThroughServices",
            actions=list(key_actions(function)),
            resources=[resources.key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": [
                        f"{service}.{Aws.REGION}.amazonaws.com" for service in key_services(function)
                    ]
                }
            },
        )
    )
    return iam.PolicyDocument(statements=statements)


def _replace_policies(stack: Stack, chalice: Chalice, config: StageConfig, resources: AppResources) -> None:
    for function in FUNCTIONS:
        role = chalice.get_resource(function.role_logical_id)
        assert isinstance(role, iam.CfnRole)
        role.policies = [
            iam.CfnRole.PolicyProperty(
                policy_name=f"{function.role_logical_id}Policy",
                policy_document=function_policy(function, resources),
            )
        ]
        _allow_own_logs(stack, chalice, config, function, role)


def log_group_removal_policy(config: StageConfig) -> RemovalPolicy:
    """The functions' log groups are the audit trail (the audit function's lines above all): a
    stage that retains its data keeps them when the stack is deleted or a group is replaced
    (``DeletionPolicy`` and ``UpdateReplacePolicy: Retain``); their retention still expires them."""
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


def _allow_own_logs(
    stack: Stack, chalice: Chalice, config: StageConfig, function: ChaliceFunction, role: iam.CfnRole
) -> None:
    """Let the function write to its own log group, and only that one.

    In a policy of its own: the log group is named after the function, which needs the role, so
    the role's own policy cannot reference the log group without a dependency cycle.
    """
    if function.log_group_logical_id is not None:
        log_group = chalice.get_resource(function.log_group_logical_id)
        assert isinstance(log_group, logs.CfnLogGroup)
        log_group.apply_removal_policy(log_group_removal_policy(config))
        log_group_arn = log_group.attr_arn  # ends with ":*": the group's streams
    else:  # the API handler: Chalice's log group is broken, so the stack makes this one
        own = logs.LogGroup(
            stack,
            "ApiHandlerLogGroup",
            log_group_name=Fn.join("", ["/aws/lambda/", function_resource(chalice, function).ref]),
            retention=retention(config.log_retention_days),
            removal_policy=log_group_removal_policy(config),
        )
        log_group_arn = own.log_group_arn
    iam.CfnPolicy(
        stack,
        f"{function.logical_id}LogsPolicy",
        policy_name=f"{function.logical_id}Logs",
        roles=[role.ref],
        policy_document=iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(sid="WriteOwnLogs", actions=list(LOG_ACTIONS), resources=[log_group_arn])
            ]
        ),
    )


def api_handler_log_group(stack: Stack) -> logs.ILogGroup:
    group = stack.node.find_child("ApiHandlerLogGroup")
    assert isinstance(group, logs.LogGroup)
    return group


def _reserve_concurrency(chalice: Chalice, reserved: Mapping[str, int]) -> None:
    """Off unless configured: a new account has as few as 10 unreserved concurrent executions, and
    reserving any of them can make the deployment fail outright."""
    by_name = {function.name: function for function in FUNCTIONS}
    for name, executions in reserved.items():
        function_resource(chalice, by_name[name]).add_property_override(
            "ReservedConcurrentExecutions", executions
        )
