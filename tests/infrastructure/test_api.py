"""API Gateway: one throttled, logged, traced regional stage, as SAM will deploy it."""

from __future__ import annotations

import json

from tests.infrastructure.conftest import STAGES_KEY, Synthesized, cdk_context, chalice_stage


def rest_api(stage: Synthesized) -> dict:
    return stage.json["Resources"]["RestAPI"]["Properties"]


def test_stage_throttling_comes_from_config(stage: Synthesized) -> None:
    throttle = cdk_context()[STAGES_KEY][stage.stage]["apiThrottle"]
    [settings] = rest_api(stage)["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] == throttle["rateLimitPerSecond"]  # requests per second
    assert settings["ThrottlingBurstLimit"] == throttle["burstLimit"]  # requests
    assert settings["DataTraceEnabled"] is False  # never log request bodies or signature headers


def test_access_logs_go_to_a_log_group_with_the_stages_retention(stage: Synthesized) -> None:
    log_group = stage.logical_id(
        "AWS::Logs::LogGroup",
        LogGroupName=f"/aws/apigateway/payment-webhooks-{stage.stage}/access/infrequent-access",
    )
    retention = chalice_stage(stage.stage)["log_retention_in_days"]
    assert stage.json["Resources"][log_group]["Properties"]["RetentionInDays"] == retention
    access = rest_api(stage)["AccessLogSetting"]
    assert {"Ref": log_group} in access["DestinationArn"]["Fn::Join"][1]
    fields = json.loads(access["Format"])
    assert {"requestId", "ip", "status"} <= set(fields) and fields["ip"] == "$context.identity.sourceIp"


def test_execution_logs_have_a_retention_too(stage: Synthesized) -> None:
    groups = [
        g["Properties"]
        for g in stage.resources("AWS::Logs::LogGroup").values()
        if "API-Gateway-Execution-Logs_" in json.dumps(g["Properties"]["LogGroupName"])
    ]
    assert (
        len(groups) == 1
        and groups[0]["RetentionInDays"] == chalice_stage(stage.stage)["log_retention_in_days"]
    )


def test_api_is_regional_traced_and_named_per_stage(stage: Synthesized) -> None:
    api = rest_api(stage)
    assert api["EndpointConfiguration"] == "REGIONAL"
    assert api["TracingEnabled"] is True
    assert api["Name"] == f"payment-webhooks-{stage.stage}"
    assert api["StageName"] == "api"


def test_sam_deploys_exactly_one_stage_with_those_settings(stage: Synthesized) -> None:
    # WHEN CloudFormation applies the SAM transform
    transformed = stage.transformed
    stages = stage.resources("AWS::ApiGateway::Stage", transformed)
    deployments = stage.resources("AWS::ApiGateway::Deployment", transformed)
    # THEN there is one stage, "api": no unthrottled, unprotected extra stage named "Stage"
    [(_, api_stage)] = stages.items()
    assert all("StageName" not in d["Properties"] for d in deployments.values())
    properties = api_stage["Properties"]
    assert properties["StageName"] == "api"
    assert properties["TracingEnabled"] is True
    assert properties["MethodSettings"] == rest_api(stage)["MethodSettings"]
    assert properties["AccessLogSetting"] == rest_api(stage)["AccessLogSetting"]


def test_api_waits_for_the_accounts_logging_role(stage: Synthesized) -> None:
    account_id, account = stage.one("AWS::ApiGateway::Account")
    role = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert stage.json["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ] == {"Service": "apigateway.amazonaws.com"}
    assert account_id in stage.transformed["Resources"]["RestAPI"]["DependsOn"]
