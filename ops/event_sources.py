"""``python -m ops fix-event-sources --stage dev``: give a Chalice-deployed stage's event sources
the settings Chalice cannot declare.

``chalice deploy`` creates the processor's SQS mapping and the audit's stream mapping with
Chalice's defaults: the whole batch retried on one failure, a failing stream batch retried until
its records expire (blocking the shard), nowhere for given-up records to go, and no bound on the
processor's concurrency. This command sets, on the mappings of the stage's Chalice-named
functions, exactly what the CDK stack deploys: the values come from ``infrastructure.event_sources``
and the stage's settings in ``infrastructure/cdk.json``, never a copy. It must run after every
``chalice deploy`` that (re)creates a mapping. Neither module imports the CDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import click

from infrastructure.event_sources import (
    AUDIT_STARTING_POSITION,
    ENQUEUE_STARTING_POSITION,
    audit_settings,
    enqueuer_settings,
    processor_settings,
)
from infrastructure.names import AUDITOR, ENQUEUER, PROCESSOR, ChaliceFunction
from infrastructure.stage_config import StageConfig, StageConfigError, cdk_json_context, stage_config
from ops.stage import LOCAL, OpsError


@dataclass(frozen=True)
class MappingFix:
    function: str
    uuid: str
    event_source_arn: str
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _config(stage: str) -> StageConfig:
    if stage == LOCAL:
        raise OpsError("fix-event-sources is for a stage deployed with `chalice deploy` (dev), not local")
    try:
        # The alert subscriber is the stack's business, not this command's.
        return stage_config(stage, cdk_json_context(), check_alert_subscriber=False)
    except StageConfigError as error:
        raise OpsError(str(error)) from None


def _one_mapping(lambda_client: Any, function: ChaliceFunction, config: StageConfig,
                 belongs: Callable[[str], bool]) -> tuple[str, dict[str, Any]]:
    name = config.names.chalice_function_name(function)
    mappings: list[dict[str, Any]] = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate(FunctionName=name):
        mappings.extend(page["EventSourceMappings"])
    ours = [m for m in mappings if belongs(m["EventSourceArn"])]
    if len(ours) != 1:
        raise OpsError(
            f"expected one event source mapping of {name} on its {function.name} source, found {len(ours)}: "
            "deploy the stage with `chalice deploy --stage <stage>` first"
        )
    return name, ours[0]


def _queue_arn(sqs_client: Any, queue_name: str) -> str:
    url = sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn: str = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def fix_event_sources(session: Any, stage: str, dry_run: bool = False) -> list[MappingFix]:
    """Apply the stack's event-source settings to the stage's Chalice-deployed mappings."""
    config = _config(stage)
    names = config.names
    lambda_client = session.client("lambda")
    processor_name, processor_mapping = _one_mapping(
        lambda_client, PROCESSOR, config, lambda arn: arn.endswith(f":{names.processing_queue}")
    )
    auditor_name, audit_mapping = _one_mapping(
        lambda_client, AUDITOR, config, lambda arn: f":table/{names.table}/stream/" in arn
    )
    enqueuer_name, enqueue_mapping = _one_mapping(
        lambda_client, ENQUEUER, config, lambda arn: f":table/{names.table}/stream/" in arn
    )
    fixes = [
        MappingFix(processor_name, processor_mapping["UUID"], processor_mapping["EventSourceArn"],
                   processor_settings(config)),
        MappingFix(auditor_name, audit_mapping["UUID"], audit_mapping["EventSourceArn"],
                   audit_settings(_queue_arn(session.client("sqs"), names.audit_failure_queue))),
        MappingFix(enqueuer_name, enqueue_mapping["UUID"], enqueue_mapping["EventSourceArn"],
                   enqueuer_settings(_queue_arn(session.client("sqs"), names.enqueue_failure_queue))),
    ]
    starting = audit_mapping.get("StartingPosition")
    if starting and starting != AUDIT_STARTING_POSITION:
        # Lambda cannot change a mapping's starting position; it only matters when it is created.
        fixes[1].notes.append(
            f"starting position is {starting}, the stack's is {AUDIT_STARTING_POSITION}: changes made "
            "before this mapping existed were not audited (Lambda cannot change it on a mapping)"
        )
    starting = enqueue_mapping.get("StartingPosition")
    if starting and starting != ENQUEUE_STARTING_POSITION:
        fixes[2].notes.append(
            f"starting position is {starting}, the stack's is {ENQUEUE_STARTING_POSITION}: webhooks stored "
            "before this mapping existed were not queued (recreate the mapping, or `ops requeue --scan`)"
        )
    if not dry_run:
        for fix in fixes:
            lambda_client.update_event_source_mapping(UUID=fix.uuid, **fix.settings)
    return fixes


def _text(fixes: list[MappingFix], dry_run: bool) -> str:
    verb = "would set" if dry_run else "set"
    lines = []
    for fix in fixes:
        lines.append(f"{fix.function} ({fix.event_source_arn.rsplit(':', 1)[-1]}): {verb} "
                     + ", ".join(f"{key}={json.dumps(value)}" for key, value in fix.settings.items()))
        lines.extend(f"  note: {note}" for note in fix.notes)
    return "\n".join(lines)


@click.command("fix-event-sources")
@click.option("--stage", required=True, metavar="STAGE", help="A stage deployed with `chalice deploy` (dev).")
@click.option("--dry-run", is_flag=True, help="Show what would be set, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
def fix_event_sources_command(stage: str, dry_run: bool, as_json: bool) -> None:
    """After `chalice deploy`: set partial batch responses, bisect, bounded retries, record age,
    the on-failure queues, the outbox's filter criteria and the processor's maximum concurrency,
    as the CDK stack does."""
    import boto3

    fixes = fix_event_sources(boto3.session.Session(), stage, dry_run=dry_run)
    click.echo(json.dumps([asdict(fix) for fix in fixes], indent=2) if as_json else _text(fixes, dry_run))
