"""The table's capacity mode (``tableCapacity``): parsed and refused like the other stage settings,
on demand in both stages as cdk.json ships them, and a provisioned table with auto scaling that
passes the same cdk-nag, cfn-lint and checkov checks as the stages do.

The provisioned stack holds only what the table needs (the stage key and the table): synthesizing
it takes seconds, where a third full stage would run ``chalice package`` again.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from infrastructure.stage_config import (
    DYNAMODB_TABLE_CAPACITY_QUOTA,
    OnDemandCapacity,
    ProvisionedCapacity,
    StageConfig,
    StageConfigError,
    stage_config,
)
from tests.infrastructure.conftest import PROD_ALERT_ENDPOINT, STAGES_KEY, Synthesized, cdk_context
from tests.infrastructure.test_checks import describe, lint

PROVISIONED = {"mode": "provisioned", "minWrite": 350, "maxWrite": 4000, "minRead": 200, "maxRead": 3000,
               "targetUtilization": 70}


def config_with(capacity: Any, stage: str = "prod") -> StageConfig:
    context = copy.deepcopy(cdk_context())
    if capacity is None:
        context[STAGES_KEY][stage].pop("tableCapacity", None)
    else:
        context[STAGES_KEY][stage]["tableCapacity"] = capacity
    return stage_config(stage, {**context, "alertEndpoint": PROD_ALERT_ENDPOINT})


# --- the setting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_both_stages_ship_on_demand(stage: str) -> None:
    assert cdk_context()[STAGES_KEY][stage]["tableCapacity"] == {"mode": "on-demand"}
    assert config_with(cdk_context()[STAGES_KEY][stage]["tableCapacity"], stage).table_capacity == OnDemandCapacity()


def test_a_stage_without_the_setting_is_on_demand() -> None:
    assert config_with(None).table_capacity == OnDemandCapacity()


def test_provisioned_is_read_with_every_bound() -> None:
    assert config_with(PROVISIONED).table_capacity == ProvisionedCapacity(
        min_write=350, max_write=4000, min_read=200, max_read=3000, target_utilization=70.0
    )


@pytest.mark.parametrize(("capacity", "message"), [
    ({"mode": "autoscaling"}, 'mode must be "on-demand" or "provisioned"'),
    ({}, 'mode must be "on-demand" or "provisioned"'),
    ("on-demand", "must be an object"),
    ({"mode": "on-demand", "minWrite": 5}, "apply to \"mode\": \"provisioned\" only"),
    ({**PROVISIONED, "maxWrites": 10}, "unknown keys \\['maxWrites'\\]"),
    ({k: v for k, v in PROVISIONED.items() if k != "maxRead"}, "needs \\['maxRead'\\]"),
    ({**PROVISIONED, "minWrite": 0}, "1 <= minWrite"),
    ({**PROVISIONED, "minWrite": 5000}, "minWrite \\(5000\\) <= maxWrite \\(4000\\)"),
    ({**PROVISIONED, "maxRead": DYNAMODB_TABLE_CAPACITY_QUOTA + 1}, "table quota"),
    ({**PROVISIONED, "minRead": 2.5}, "whole number"),
    ({**PROVISIONED, "maxWrite": True}, "whole number"),
    ({**PROVISIONED, "minRead": "200"}, "whole number"),
    ({**PROVISIONED, "targetUtilization": 0.7}, "from 20 to 90"),  # a fraction, not a percentage
    ({**PROVISIONED, "targetUtilization": 95}, "from 20 to 90"),
    ({**PROVISIONED, "targetUtilization": "70"}, "percentage"),
])
def test_a_bad_capacity_setting_stops_the_synthesis(capacity: Any, message: str) -> None:
    with pytest.raises(StageConfigError, match=message):
        config_with(capacity)


def test_the_bounds_are_inclusive() -> None:
    edge = {**PROVISIONED, "minWrite": 1, "maxWrite": 1, "maxRead": DYNAMODB_TABLE_CAPACITY_QUOTA,
            "targetUtilization": 20}
    capacity = config_with(edge).table_capacity
    assert isinstance(capacity, ProvisionedCapacity)
    assert (capacity.min_write, capacity.max_write, capacity.target_utilization) == (1, 1, 20.0)
    assert isinstance(config_with({**PROVISIONED, "targetUtilization": 90}).table_capacity, ProvisionedCapacity)


# --- the stages as shipped: on demand, nothing to scale ---------------------------------------------

def test_the_shipped_stages_tables_are_on_demand_with_no_scaling(stage: Synthesized) -> None:
    _, table = stage.one("AWS::DynamoDB::Table")
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table["Properties"]
    assert stage.resources("AWS::ApplicationAutoScaling::ScalableTarget") == {}
    assert stage.resources("AWS::ApplicationAutoScaling::ScalingPolicy") == {}


# --- a provisioned table: the template and the checks -----------------------------------------------

class ProvisionedStack:
    def __init__(self, outdir: Path) -> None:
        import aws_cdk as cdk
        from cdk_nag import AwsSolutionsChecks

        from infrastructure.encryption import create_key
        from infrastructure.storage import create_table

        config = config_with(PROVISIONED)
        app = cdk.App(outdir=str(outdir), analytics_reporting=False, stack_traces=False)
        self.stack = cdk.Stack(app, "provisioned")
        create_table(self.stack, config, create_key(self.stack, config))
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))  # as infrastructure/assembly.py does
        app.synth()
        self.template = Template.from_stack(self.stack)
        self.json: dict[str, Any] = dict(self.template.to_json())
        self.template_path = outdir / f"{self.stack.artifact_id}.template.json"

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == resource_type}


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> ProvisionedStack:
    return ProvisionedStack(tmp_path_factory.mktemp("provisioned"))


def test_a_provisioned_table_starts_at_its_floor(provisioned: ProvisionedStack) -> None:
    provisioned.template.has_resource_properties("AWS::DynamoDB::Table", {
        "BillingMode": Match.absent(),  # CloudFormation's default: PROVISIONED
        "ProvisionedThroughput": {"ReadCapacityUnits": 200, "WriteCapacityUnits": 350},
        # everything else as on demand: the mode changes nothing but billing and capacity
        "PointInTimeRecoverySpecification": Match.object_like({"PointInTimeRecoveryEnabled": True}),
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "SSESpecification": Match.object_like({"SSEType": "KMS"}),
    })


@pytest.mark.parametrize(("dimension", "metric", "low", "high"), [
    ("dynamodb:table:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization", 350, 4000),
    ("dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization", 200, 3000),
])
def test_writes_and_reads_each_scale_on_utilization_between_their_bounds(
    provisioned: ProvisionedStack, dimension: str, metric: str, low: int, high: int
) -> None:
    [table_id] = provisioned.resources("AWS::DynamoDB::Table")
    scalable = provisioned.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    targets = {k: v["Properties"] for k, v in scalable.items() if v["Properties"]["ScalableDimension"] == dimension}
    [(target_id, target)] = targets.items()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (low, high)
    assert target["ServiceNamespace"] == "dynamodb"
    assert target["ResourceId"] == {"Fn::Join": ["", ["table/", {"Ref": table_id}]]}
    assert "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable" in str(target["RoleARN"])  # no role of ours
    policies = [v["Properties"] for v in provisioned.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
                if v["Properties"]["ScalingTargetId"] == {"Ref": target_id}]
    [policy] = policies
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {"PredefinedMetricType": metric}, "TargetValue": 70,
    }


def test_a_provisioned_table_passes_cdk_nag(provisioned: ProvisionedStack) -> None:
    findings = Annotations.from_stack(provisioned.stack)
    errors = findings.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = findings.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [] and warnings == [], [e.entry.data for e in errors + warnings]


def test_a_provisioned_table_passes_cfn_lint(provisioned: ProvisionedStack) -> None:
    matches = lint(provisioned.template_path)
    assert matches == [], describe(matches)


@pytest.mark.slow
def test_a_provisioned_table_passes_checkov(provisioned: ProvisionedStack) -> None:
    from infrastructure.checkov_scan import scan

    result = scan([provisioned.template_path])
    assert result.failed == [] and result.unexplained_skips == [], result.failed + result.unexplained_skips
    assert result.passed > 0 and result.ok
