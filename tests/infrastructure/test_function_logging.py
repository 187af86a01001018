"""Lambda's logging controls on every function, and which log groups are Infrequent Access.

What the synthesized template says; that our stdout lines pass through the JSON format unchanged
(so the metric filters still match) is proven only on AWS (docs/DEPLOYING.md, after a deploy).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.function_logging import application_log_level
from tests.infrastructure.conftest import Synthesized, chalice_stage
from tests.infrastructure.test_functions import FUNCTIONS, function, log_group_of

INFREQUENT_ACCESS = "INFREQUENT_ACCESS"


@pytest.mark.parametrize("logical_id", FUNCTIONS.values())
def test_every_function_logs_json_without_lambdas_info_lines(stage: Synthesized, logical_id: str) -> None:
    config = function(stage, logical_id)["LoggingConfig"]
    app_level = chalice_stage(stage.stage)["environment_variables"]["LOG_LEVEL"]
    assert (config["LogFormat"], config["SystemLogLevel"], config["ApplicationLogLevel"]) == (
        "JSON", "WARN", app_level
    )


def test_the_sam_transform_keeps_the_logging_config_on_every_function(stage: Synthesized) -> None:
    deployed = stage.resources("AWS::Lambda::Function", stage.transformed)
    assert set(deployed) >= set(FUNCTIONS.values())
    for logical_id in FUNCTIONS.values():
        config = deployed[logical_id]["Properties"]["LoggingConfig"]
        assert (config["LogFormat"], config["SystemLogLevel"]) == ("JSON", "WARN"), logical_id


@pytest.mark.parametrize(("threshold", "lambda_level"), [
    ("DEBUG", "DEBUG"), ("info", "INFO"),
    # Lambda reads our "WARNING" (not one of its names) as INFO: a WARN threshold would drop it
    ("WARNING", "INFO"), ("ERROR", "INFO"),
])
def test_lambdas_threshold_is_never_stricter_than_info(threshold: str, lambda_level: str) -> None:
    assert application_log_level(threshold) == lambda_level


def test_the_audit_logs_to_an_infrequent_access_group_kept_a_year(stage: Synthesized) -> None:
    named = function(stage, "AuditChanges")["LoggingConfig"]["LogGroup"]
    group = stage.json["Resources"][named["Ref"]]
    assert group["Properties"]["LogGroupClass"] == INFREQUENT_ACCESS
    assert group["Properties"]["RetentionInDays"] == 365
    # a name of its own, not derived from the function's (the function refers to the group)
    assert group["Properties"]["LogGroupName"] == (
        f"/aws/lambda/payment-webhooks-{stage.stage}-audit_changes/infrequent-access"
    )
    # the audit trail outlives a deleted stack where the stage retains its data (prod)
    assert group.get("UpdateReplacePolicy") == ("Retain" if stage.stage == "prod" else "Delete")


def test_only_the_audit_and_the_access_log_are_infrequent_access(stage: Synthesized) -> None:
    groups = stage.resources("AWS::Logs::LogGroup")
    infrequent = {json.dumps(g["Properties"]["LogGroupName"]) for g in groups.values()
                  if g["Properties"].get("LogGroupClass") == INFREQUENT_ACCESS}
    assert infrequent == {
        json.dumps(f"/aws/lambda/payment-webhooks-{stage.stage}-audit_changes/infrequent-access"),
        json.dumps(f"/aws/apigateway/payment-webhooks-{stage.stage}/access/infrequent-access"),
    }
    for logical_id in ("APIHandler", "ProcessWebhooks", "EnqueueNewWebhooks", "ReconcileMissedWebhooks"):
        assert log_group_of(stage, logical_id).get("LogGroupClass", "STANDARD") == "STANDARD", logical_id


def _group_reference(name: Any, groups: dict[str, dict[str, Any]]) -> str:
    """The logical id of the log group a filter's ``LogGroupName`` points at."""
    if isinstance(name, dict) and "Ref" in name:
        return str(name["Ref"])
    [logical_id] = [k for k, g in groups.items() if g["Properties"]["LogGroupName"] == name]
    return logical_id


def test_no_filter_targets_an_infrequent_access_group(stage: Synthesized) -> None:
    # CloudFormation refuses a metric or subscription filter on an Infrequent Access group
    groups = stage.resources("AWS::Logs::LogGroup")
    filters = {**stage.resources("AWS::Logs::MetricFilter"), **stage.resources("AWS::Logs::SubscriptionFilter")}
    assert len(filters) >= 5  # the receiver's and the processor's metric filters exist
    targets = {_group_reference(f["Properties"]["LogGroupName"], groups) for f in filters.values()}
    assert targets  # every filter resolved to a group of this stack
    for logical_id in targets:
        assert groups[logical_id]["Properties"].get("LogGroupClass") != INFREQUENT_ACCESS, logical_id
