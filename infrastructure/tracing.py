"""The stage's X-Ray sampling rule: how many receiver requests are traced, a per-stage setting.

API Gateway decides whether a request is traced (its stage has ``TracingEnabled``) from the
account's sampling rules, and the receiver Lambda's trace follows that decision. Without a rule of
ours the account's ``Default`` rule applies (1 request per second, then 5 %), the same in every
stage; with this one dev traces everything and prod what cdk.json says (cost: docs/PERFORMANCE.md,
figure 6). The processor's and the audit's invocations are sampled by Lambda, which does not read
sampling rules.
"""

from __future__ import annotations

from aws_cdk import aws_xray as xray
from constructs import Construct

from infrastructure.names import API_GATEWAY_STAGE
from infrastructure.stage_config import StageConfig

SAMPLING_RULE_PRIORITY = 100
"""Evaluated before the account's ``Default`` rule (10000); rules of other stacks in the account
match other service names, so the order between them does not matter."""
API_GATEWAY_SERVICE_TYPE = "AWS::ApiGateway::Stage"
RULE_NAME_MAX = 32
"""X-Ray's limit on a rule's name."""


def sampling_rule_name(config: StageConfig) -> str:
    return f"{config.names.prefix}-api"[:RULE_NAME_MAX]


def api_service_name(config: StageConfig) -> str:
    """The service name X-Ray gives an API Gateway stage: ``<api name>/<stage name>``."""
    return f"{config.names.rest_api}/{API_GATEWAY_STAGE}"


def create_sampling_rule(scope: Construct, config: StageConfig) -> xray.CfnSamplingRule:
    sampling = config.xray_sampling
    return xray.CfnSamplingRule(
        scope,
        "ApiSamplingRule",
        sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
            rule_name=sampling_rule_name(config),
            priority=SAMPLING_RULE_PRIORITY,
            fixed_rate=sampling.fixed_rate,  # of the requests past the reservoir, 0..1
            reservoir_size=sampling.reservoir_per_second,  # traced each second before fixed_rate applies
            service_name=api_service_name(config),
            service_type=API_GATEWAY_SERVICE_TYPE,
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            version=1,
        ),
    )
