"""The regional WAF web ACL in front of the API stage.

Rules, in evaluation order (a request stops at the first rule that blocks it):

0. ``RateLimitPerIp``: at most N requests per source IP per evaluation window (both per stage, in
   cdk.json). The limit counts requests in a sliding window of 60-600 *seconds*; it is not a
   per-second rate. Provider source ranges (an IP set) are exempt: a provider's retry burst after an
   outage must not be cut off. Everyone else over the limit gets 403 until their rate drops.
1. ``BodyOverLimit``: requests whose ``Content-Length`` declares more than ``MAX_BODY_BYTES``.
   WAF sees at most the first 8-64 KiB of an API Gateway body, so it cannot measure a 256 KiB
   body; the declared length it can. The app still checks the real bytes (413).
2. ``AWSManagedRulesCommonRuleSet`` with its body rules set to count:

   - ``SizeRestrictions_BODY`` counts everywhere: it blocks every body over 8 KiB, legitimate
     webhooks (Adyen batches, PayPal resources) are bigger, and rule 1 governs body size.
   - The content rules on the body (``WEBHOOK_COUNTED_BODY_RULES``: cross-site scripting, remote
     and local file inclusion, EC2 metadata SSRF) count here and are enforced by rule 3 instead.
3. ``CommonBodyRulesOutsideWebhooks``: blocks a request that one of those body rules labelled,
   unless its path is a webhook route. On ``/webhook/{source}`` the signature check is the real
   gate: a payment event is text the provider's customers wrote (a name, an address, a
   description), and a customer may well write ``<script>`` or ``http://169.254.169.254/``. WAF
   answering such a genuine, signed event 403 makes the provider retry it until it gives up, and
   the payment event is lost. The app verifies the signature on the raw bytes before it parses
   anything, never renders a body as HTML and never fetches a URL from one, so counting costs no
   protection there; every other path keeps the rules blocking. One instance of the rule group and
   a label match, rather than two instances scoped by path: the group costs 700 WCU, two would take
   the ACL over the 1,500 WCU included in its price.
4. ``AWSManagedRulesKnownBadInputsRuleSet`` (Log4Shell, Java deserialization, localhost Host...).

The ACL is associated with the API's stage, which exists only after SAM's transform; the
association names it by logical id in an explicit ``DependsOn``.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infrastructure.names import API_GATEWAY_STAGE, REST_API_STAGE_LOGICAL_ID
from infrastructure.retention import retention
from infrastructure.stage_config import StageConfig

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
BODY_SIZE_RULE_IN_COMMON_SET = "SizeRestrictions_BODY"
COMMON_RULE_SET_LABEL_NAMESPACE = "awswaf:managed:aws:core-rule-set:"
WEBHOOK_COUNTED_BODY_RULES = {
    # rule name in the group -> the label it adds to a request it matches (AWS's documentation)
    "CrossSiteScripting_BODY": "CrossSiteScripting_Body",
    "GenericRFI_BODY": "GenericRFI_Body",
    "GenericLFI_BODY": "GenericLFI_Body",
    "EC2MetaDataSSRF_BODY": "EC2MetaDataSSRF_Body",
}
"""The common rule set's content rules on the body: counted on the webhook routes, blocking
elsewhere (see rule 3 above)."""
WEBHOOK_PATH_PATTERN = r"^(?:/[A-Za-z0-9_-]+)?/webhook/[^/]+/?$"
"""The webhook route as WAF sees the path: ``/api/webhook/<source>`` on the execute-api URL (the
stage is part of it), ``/webhook/<source>`` behind a custom domain mapped without a base path."""
MAX_REDACTED_FIELDS = 100
"""WAF's limit on a logging configuration's ``RedactedFields``."""
SIGNATURE_HEADERS = (
    "Stripe-Signature",  # Stripe
    "Paypal-Transmission-Sig",  # PayPal
    "Webhook-Signature",  # Standard Webhooks senders, and GoCardless
    "Svix-Signature",  # Svix (Standard Webhooks under its own header names)
    "X-Square-Hmacsha256-Signature",  # Square
    "X-Square-Signature",  # Square (the older SHA-1 signature)
    "X-Razorpay-Signature",  # Razorpay
)
"""Request headers that carry a provider's signature. WAF logs every header of a request it blocks
or counts; a signature in a log is a valid signature for that payload that anyone who reads the
logs can replay within the provider's tolerance window, so WAF writes these as ``REDACTED``.
Header names are case-insensitive to WAF. Adyen signs inside the body, which WAF never logs.
Adding a provider: add its signature header here (a test in ``tests/infrastructure/test_waf.py``
checks every registered provider's ``signature_headers`` against this list)."""


def integer_greater_than_pattern(limit: int) -> str:
    """A regex matching exactly the decimal integers greater than ``limit`` (leading zeros allowed).

    WAF has no numeric comparison of header values; this spells "> limit" digit by digit: a longer
    number, or the same length with a larger digit at the first position that differs.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    digits = str(limit)
    branches = [f"[1-9][0-9]{{{len(digits)},}}"]  # more digits than the limit
    for position, digit in enumerate(digits):
        if digit == "9":
            continue
        rest = len(digits) - position - 1
        larger = str(int(digit) + 1) if digit == "8" else f"[{int(digit) + 1}-9]"
        branches.append(digits[:position] + larger + (f"[0-9]{{{rest}}}" if rest else ""))
    return "^0*(?:" + "|".join(branches) + ")$"


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _managed_rule(
    name: str, priority: int, overrides: list[wafv2.CfnWebACL.RuleActionOverrideProperty] | None = None
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),  # keep the group's actions
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, rule_action_overrides=overrides
            )
        ),
        visibility_config=_visibility(name),
    )


def _uri_path_matches(pattern: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            regex_string=pattern,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _common_body_rules_outside_webhooks(priority: int) -> wafv2.CfnWebACL.RuleProperty:
    """Block what the counted body rules matched, on every path but the webhook route."""
    labelled = [
        wafv2.CfnWebACL.StatementProperty(
            label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                scope="LABEL", key=f"{COMMON_RULE_SET_LABEL_NAMESPACE}{label}"
            )
        )
        for label in WEBHOOK_COUNTED_BODY_RULES.values()
    ]
    not_a_webhook = wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=_uri_path_matches(WEBHOOK_PATH_PATTERN))
    )
    return wafv2.CfnWebACL.RuleProperty(
        name="CommonBodyRulesOutsideWebhooks",
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    wafv2.CfnWebACL.StatementProperty(
                        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=labelled)
                    ),
                    not_a_webhook,
                ]
            )
        ),
        visibility_config=_visibility("CommonBodyRulesOutsideWebhooks"),
    )


def _count(rule_name: str) -> wafv2.CfnWebACL.RuleActionOverrideProperty:
    return wafv2.CfnWebACL.RuleActionOverrideProperty(
        name=rule_name, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
    )


def _rate_rule(config: StageConfig, provider_ranges: wafv2.CfnIPSet) -> wafv2.CfnWebACL.RuleProperty:
    not_a_provider = wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(
            statement=wafv2.CfnWebACL.StatementProperty(
                ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(
                    arn=provider_ranges.attr_arn
                )
            )
        )
    )
    return wafv2.CfnWebACL.RuleProperty(
        name="RateLimitPerIp",
        priority=0,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",  # the connecting address: API Gateway is the edge here
                limit=config.waf_rate_limit.limit,  # requests per IP per evaluation window
                evaluation_window_sec=config.waf_rate_limit.evaluation_window_seconds,  # seconds
                scope_down_statement=not_a_provider,  # count only non-provider requests
            )
        ),
        visibility_config=_visibility("RateLimitPerIp"),
    )


def _body_size_rule(max_body_bytes: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name="BodyOverLimit",
        priority=1,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "content-length"}),
                regex_string=integer_greater_than_pattern(max_body_bytes),  # bytes
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        ),
        visibility_config=_visibility("BodyOverLimit"),
    )


def create_web_acl(scope: Construct, config: StageConfig, rest_api_id: str) -> wafv2.CfnWebACL:
    """The web ACL, its logging, and its association with ``rest_api_id``'s stage."""
    names = config.names
    provider_ranges = wafv2.CfnIPSet(
        scope,
        "ProviderSourceRanges",
        name=f"{names.prefix}-provider-sources",
        # WAF descriptions allow letters, digits, spaces and =:#@/-,. only.
        description="Published webhook source ranges of the payment providers, exempt from the per-IP rate rule",
        scope="REGIONAL",
        ip_address_version="IPV4",
        addresses=list(config.provider_source_cidrs),
    )
    web_acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        name=f"{names.prefix}-api",
        description=f"payment-webhooks {config.stage} - in front of POST /webhook/source",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(f"{names.prefix}-api"),
        rules=[
            _rate_rule(config, provider_ranges),
            _body_size_rule(int(config.environment["MAX_BODY_BYTES"])),
            _managed_rule(
                COMMON_RULE_SET,
                priority=2,
                overrides=[_count(BODY_SIZE_RULE_IN_COMMON_SET)]
                + [_count(rule) for rule in WEBHOOK_COUNTED_BODY_RULES],
            ),
            _common_body_rules_outside_webhooks(priority=3),
            _managed_rule(KNOWN_BAD_INPUTS_RULE_SET, priority=4),
        ],
    )
    stage_arn = (
        f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/restapis/{rest_api_id}/stages/{API_GATEWAY_STAGE}"
    )
    association = wafv2.CfnWebACLAssociation(
        scope, "WebAclAssociation", resource_arn=stage_arn, web_acl_arn=web_acl.attr_arn
    )
    # The stage is generated by the SAM transform, so CDK cannot see it: without this the
    # association can race the stage's creation and fail with WAFNonexistentItemException.
    association.add_override("DependsOn", [REST_API_STAGE_LOGICAL_ID])
    _log_blocked_requests(scope, config, web_acl)
    return web_acl


def _log_blocked_requests(scope: Construct, config: StageConfig, web_acl: wafv2.CfnWebACL) -> None:
    """Keep a record of what WAF blocked or counted (not of every allowed request), without the
    providers' signatures."""
    if len(SIGNATURE_HEADERS) > MAX_REDACTED_FIELDS:
        raise ValueError(f"WAF redacts at most {MAX_REDACTED_FIELDS} fields, not {len(SIGNATURE_HEADERS)}")
    log_group = logs.LogGroup(
        scope,
        "WafLogs",
        log_group_name=f"aws-waf-logs-{config.names.prefix}",  # WAF requires the aws-waf-logs- prefix
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    # WAF wants the log group's ARN without the ":*" that Fn::GetAtt adds.
    destination = Stack.of(scope).format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group.log_group_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    wafv2.CfnLoggingConfiguration(
        scope,
        "WafLogging",
        resource_arn=web_acl.attr_arn,
        log_destination_configs=[destination],
        redacted_fields=[
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header.lower()})
            for header in dict.fromkeys(SIGNATURE_HEADERS)
        ],
        logging_filter={
            "DefaultBehavior": "DROP",
            "Filters": [
                {
                    "Behavior": "KEEP",
                    "Requirement": "MEETS_ANY",
                    "Conditions": [
                        {"ActionCondition": {"Action": "BLOCK"}},
                        {"ActionCondition": {"Action": "COUNT"}},
                    ],
                }
            ],
        },
    )
