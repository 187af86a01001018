"""API Gateway settings Chalice cannot express: stage throttling, access logs, execution-log
retention, X-Ray, a per-stage API name, and the account's CloudWatch role that logging needs.

Chalice packages the REST API as an ``AWS::Serverless::Api``; these are properties of that
resource, which the SAM transform turns into the stage's settings at deploy time.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sam as sam
from constructs import Construct

from infrastructure.log_settings import ACCESS_LOG_FORMAT, ACCESS_LOG_INFREQUENT_ACCESS
from infrastructure.names import API_GATEWAY_STAGE
from infrastructure.retention import retention
from infrastructure.stage_config import StageConfig

API_GATEWAY_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def _log_group_arn(scope: Construct, name: str) -> str:
    """A log group's ARN as API Gateway wants it (without the ``:*`` Fn::GetAtt returns)."""
    return Stack.of(scope).format_arn(
        service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
    )


def _account_logging_role(scope: Construct) -> apigateway.CfnAccount:
    """The region-wide role API Gateway writes logs with; without it, a stage with access logging
    fails to deploy ("CloudWatch Logs role ARN must be set in account settings")."""
    role = iam.Role(
        scope,
        "ApiGatewayCloudWatchRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(API_GATEWAY_LOGS_POLICY)],
        description="Lets API Gateway write access and execution logs (an account-wide setting)",
    )
    # Kept on stack deletion: other stacks' APIs in this account and region log with it too.
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    account = apigateway.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account


def access_log_group_name(config: StageConfig) -> str:
    return f"/aws/apigateway/{config.names.prefix}/access/infrequent-access"


def configure_rest_api(scope: Construct, config: StageConfig, rest_api: sam.CfnApi) -> logs.LogGroup:
    """Apply the stage settings to Chalice's API; returns the access log group."""
    # Infrequent Access (half the ingestion price): nothing filters the access log in real time, it
    # is read with Logs Insights. The class is fixed at creation, hence a name of its own: the
    # Standard group of earlier deployments (".../access") is replaced, not converted.
    access_logs = logs.LogGroup(
        scope,
        "ApiAccessLogs",
        log_group_name=access_log_group_name(config),
        log_group_class=logs.LogGroupClass.INFREQUENT_ACCESS if ACCESS_LOG_INFREQUENT_ACCESS else None,
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    # API Gateway creates its execution-log group on first use, with no retention; creating it
    # first (same name) bounds it. Only errors are logged there (LoggingLevel ERROR, no data trace).
    logs.LogGroup(
        scope,
        "ApiExecutionLogs",
        log_group_name=Fn.join("", ["API-Gateway-Execution-Logs_", rest_api.ref, f"/{API_GATEWAY_STAGE}"]),
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    # Distinct per stage: API Gateway's metrics are keyed by API name, and Chalice names every
    # stage's API after the app.
    rest_api.add_property_override("Name", config.names.rest_api)
    rest_api.add_property_override("TracingEnabled", True)  # X-Ray from the API into the Lambdas
    # Any OpenApiVersion stops SAM from also deploying a stage literally named "Stage": one
    # without this WAF, throttling or access logs. "2.0" keeps Chalice's Swagger 2.0 definition.
    rest_api.add_property_override("OpenApiVersion", "2.0")
    rest_api.add_property_override(
        "AccessLogSetting",
        {"DestinationArn": _log_group_arn(scope, access_logs.log_group_name), "Format": ACCESS_LOG_FORMAT},
    )
    rest_api.add_property_override(
        "MethodSettings",
        [
            {
                "ResourcePath": "/*",  # every method of the stage
                "HttpMethod": "*",
                # Requests per second, all clients together (steady state), and the bucket size
                # for bursts; above them API Gateway answers 429 and providers retry later.
                "ThrottlingRateLimit": config.api_throttle.rate_limit,
                "ThrottlingBurstLimit": config.api_throttle.burst_limit,
                "MetricsEnabled": True,
                "LoggingLevel": "ERROR",
                "DataTraceEnabled": False,  # would log full requests: bodies and signature headers
            }
        ],
    )
    if config.manage_api_gateway_account:
        rest_api.add_resource_dependency(_account_logging_role(scope))
    return access_logs
