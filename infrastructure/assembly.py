"""Build the CDK app for one stage: the entry point's logic, importable by the tests.

Synthesis needs no AWS account: the stack is environment-agnostic unless the CDK CLI supplies an
account and region (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``, set when credentials exist),
and ``chalice package`` only needs a region name, which the entry point defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infrastructure.stack import PaymentWebhooksStack
from infrastructure.stage_config import CDK_JSON, CONTEXT_KEY, cdk_json_context, stage_config

__all__ = ["CDK_JSON", "build_app", "cdk_json_context", "environment_from_cli"]

COMMAND_LINE_OVERRIDES = ("alertEmail", "alertEndpoint")
"""Context values a deployer may pass with ``-c`` that win over the stage's block in cdk.json."""


def environment_from_cli() -> cdk.Environment | None:
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    return cdk.Environment(account=account, region=region) if account and region else None


def build_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    env: cdk.Environment | None = None,
) -> tuple[cdk.App, PaymentWebhooksStack]:
    """An app with the stack of the stage named by the ``stage`` context value.

    ``context`` is laid over cdk.json's (the CLI's ``-c`` values, set through ``CDK_CONTEXT_JSON``,
    take precedence over both).
    """
    app = cdk.App(
        context={**cdk_json_context(), **(context or {})},
        outdir=outdir,
        analytics_reporting=False,  # no AWS::CDK::Metadata resource: the template is what we review
        # CDK's built-in template validator does not know SAM, so it reports the resources the
        # SAM transform generates (the API stage the WAF association depends on) as missing.
        # cfn-lint knows SAM and checks every template in `make synth` and in the tests, which
        # also run the SAM transform itself.
        builtin_cloud_formation_validation=False,
        stack_traces=False,  # construct stack traces in metadata: slow, and noise in a review
    )
    stage = app.node.try_get_context("stage")
    if not stage:
        raise SystemExit("choose a stage: -c stage=dev or -c stage=prod")
    merged = {CONTEXT_KEY: app.node.try_get_context(CONTEXT_KEY) or {}}
    for name in COMMAND_LINE_OVERRIDES:
        value = app.node.try_get_context(name)
        if value is not None:
            merged[name] = value
    config = stage_config(str(stage), merged)
    stack = PaymentWebhooksStack(app, config, env=env)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack
