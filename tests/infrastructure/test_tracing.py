"""X-Ray sampling as a stage setting: the rule the stack deploys for the API, per stage."""

from __future__ import annotations

import pytest

from infrastructure.stage_config import StageConfigError, stage_config
from tests.infrastructure.conftest import STAGES_KEY, Synthesized, cdk_context
from tests.infrastructure.test_stage_config import context_with


def test_each_stage_deploys_one_sampling_rule_for_its_own_api_at_its_own_rate(stage: Synthesized) -> None:
    sampling = cdk_context()[STAGES_KEY][stage.stage]["xraySampling"]
    [rule] = [r["Properties"]["SamplingRule"] for r in stage.resources("AWS::XRay::SamplingRule").values()]
    # the service name X-Ray gives this stage's API: <api name>/<stage name>, both set by the stack
    api = stage.json["Resources"]["RestAPI"]["Properties"]
    assert rule["ServiceName"] == f"{api['Name']}/{api['StageName']}"
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    assert rule["FixedRate"] == sampling["fixedRate"]
    assert rule["ReservoirSize"] == sampling["reservoirPerSecond"]
    assert rule["Priority"] < 10000  # before the account's Default rule
    assert len(rule["RuleName"]) <= 32 and stage.stage in rule["RuleName"]
    assert (rule["Host"], rule["HTTPMethod"], rule["URLPath"], rule["ResourceARN"]) == ("*", "*", "*", "*")


def test_dev_traces_everything_and_prod_a_sample(dev: Synthesized, prod: Synthesized) -> None:
    def rate(stage: Synthesized) -> float:
        [rule] = stage.resources("AWS::XRay::SamplingRule").values()
        return float(rule["Properties"]["SamplingRule"]["FixedRate"])

    assert rate(dev) == 1.0
    assert rate(prod) == 0.01


@pytest.mark.parametrize("sampling", [
    {"fixedRate": 5, "reservoirPerSecond": 1}, {"fixedRate": -0.1, "reservoirPerSecond": 1},
    {"fixedRate": 0.05, "reservoirPerSecond": -1}, {"fixedRate": 0.05}, None,
])
def test_a_sampling_setting_out_of_range_or_missing_stops_synthesis(sampling: object) -> None:
    with pytest.raises(StageConfigError, match="xraySampling"):
        stage_config("dev", context_with("dev", xraySampling=sampling))
