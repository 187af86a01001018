"""The web ACL: managed rules tuned for webhook bodies, a per-IP rate rule with provider
exemptions, and its association with the API stage."""

from __future__ import annotations

import re

from tests.infrastructure.conftest import DEV_PROVIDER_RANGES, STAGES_KEY, Synthesized, cdk_context

KIB = 1024


def rules(stage: Synthesized) -> dict[str, dict]:
    _, acl = stage.one("AWS::WAFv2::WebACL")
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def test_web_acl_is_regional_and_allows_by_default(stage: Synthesized) -> None:
    stage.template.has_resource_properties(
        "AWS::WAFv2::WebACL", {"Scope": "REGIONAL", "DefaultAction": {"Allow": {}}}
    )


def test_managed_rule_groups_run_and_keep_their_actions(stage: Synthesized) -> None:
    found = rules(stage)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = found[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement["VendorName"] == "AWS" and statement["Name"] == group
        assert found[group]["OverrideAction"] == {"None": {}}  # not turned into count-only


BODY_CONTENT_RULES = {
    "CrossSiteScripting_BODY": "CrossSiteScripting_Body",
    "GenericRFI_BODY": "GenericRFI_Body",
    "GenericLFI_BODY": "GenericLFI_Body",
    "EC2MetaDataSSRF_BODY": "EC2MetaDataSSRF_Body",
}
"""The common rule set's body rules (AWS's documented names and labels), SizeRestrictions aside."""
CRS_LABEL = "awswaf:managed:aws:core-rule-set:"


def test_common_rule_sets_body_rules_count_in_the_group(stage: Synthesized) -> None:
    common = rules(stage)["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    overrides = {o["Name"]: o["ActionToUse"] for o in common["RuleActionOverrides"]}
    assert overrides == {name: {"Count": {}} for name in ["SizeRestrictions_BODY", *BODY_CONTENT_RULES]}


def matches(statement: dict, labels: set[str], path: str) -> bool:
    """Evaluate the statements this ACL's label rule uses, the way WAF does, for one request."""
    if "AndStatement" in statement:
        return all(matches(s, labels, path) for s in statement["AndStatement"]["Statements"])
    if "OrStatement" in statement:
        return any(matches(s, labels, path) for s in statement["OrStatement"]["Statements"])
    if "NotStatement" in statement:
        return not matches(statement["NotStatement"]["Statement"], labels, path)
    if "LabelMatchStatement" in statement:
        label = statement["LabelMatchStatement"]
        assert label["Scope"] == "LABEL"
        return label["Key"] in labels
    if "RegexMatchStatement" in statement:
        regex = statement["RegexMatchStatement"]
        assert regex["FieldToMatch"] == {"UriPath": {}}
        assert [t["Type"] for t in regex["TextTransformations"]] == ["NONE"]
        assert len(regex["RegexString"]) <= 512
        return re.search(regex["RegexString"], path) is not None
    raise AssertionError(f"unexpected statement {statement}")


def test_body_content_rules_block_everywhere_but_the_webhook_route(stage: Synthesized) -> None:
    # GIVEN the rule that enforces what the group only counts
    found = rules(stage)
    rule = found["CommonBodyRulesOutsideWebhooks"]
    assert rule["Action"] == {"Block": {}}
    # it runs after the group (labels exist only once the group has evaluated the request)
    assert rule["Priority"] > found["AWSManagedRulesCommonRuleSet"]["Priority"]
    statement = rule["Statement"]
    for rule_name, label in BODY_CONTENT_RULES.items():
        labels = {CRS_LABEL + label}
        # WHEN a signed event's text looks like an attack, on the webhook route: not blocked
        for webhook in ("/api/webhook/stripe", "/api/webhook/paypal/", "/webhook/adyen"):
            assert not matches(statement, labels, webhook), (rule_name, webhook)
        # WHEN the same body goes anywhere else: blocked
        for elsewhere in ("/api/", "/api/admin", "/api/webhook", "/api/webhook/a/b", "/api/other/webhook/x/y"):
            assert matches(statement, labels, elsewhere), (rule_name, elsewhere)
    # the 8 KiB size rule counts everywhere (BodyOverLimit governs size), and no label means no block
    assert not matches(statement, {CRS_LABEL + "SizeRestrictions_Body"}, "/api/admin")
    assert not matches(statement, set(), "/api/admin")


SIGNATURE_HEADERS = {
    "stripe-signature",
    "paypal-transmission-sig",
    "webhook-signature",  # Standard Webhooks and GoCardless
    "svix-signature",
    "x-square-hmacsha256-signature",
    "x-square-signature",
    "x-razorpay-signature",
}


def test_waf_logs_redact_every_providers_signature_header(stage: Synthesized) -> None:
    _, logging = stage.one("AWS::WAFv2::LoggingConfiguration")
    redacted = logging["Properties"]["RedactedFields"]
    assert all(set(field) == {"SingleHeader"} for field in redacted)
    names = [field["SingleHeader"]["Name"] for field in redacted]
    assert set(names) == SIGNATURE_HEADERS and len(names) == len(set(names))
    assert len(redacted) <= 100  # WAF's limit on RedactedFields


def test_body_size_rule_blocks_declared_lengths_over_256_kib_only(stage: Synthesized) -> None:
    # GIVEN the rule as deployed
    rule = rules(stage)["BodyOverLimit"]
    statement = rule["Statement"]["RegexMatchStatement"]
    assert rule["Action"] == {"Block": {}}
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    pattern = re.compile(statement["RegexString"])
    # THEN a legitimate 256 KiB webhook passes and anything longer is blocked
    for length in (0, 1, 8 * KIB + 1, 64 * KIB, 256 * KIB - 1, 256 * KIB):
        assert not pattern.search(str(length)), length
    for length in (256 * KIB + 1, 256 * KIB + 10, 300_000, 999_999, 1_000_000, 10 * 1024 * KIB):
        assert pattern.search(str(length)), length
    assert len(statement["RegexString"]) <= 512  # WAF's limit for a regex string


def test_rate_rule_uses_the_stages_limit_and_window_and_exempts_providers(stage: Synthesized) -> None:
    # GIVEN the stage's configured limit (requests per IP per evaluation window, in seconds)
    configured = cdk_context()[STAGES_KEY][stage.stage]["wafRateLimit"]
    rule = rules(stage)["RateLimitPerIp"]
    rate = rule["Statement"]["RateBasedStatement"]
    # THEN the rule blocks, per source IP, with that limit and window ...
    assert rule["Action"] == {"Block": {}} and rule["Priority"] == 0
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == configured["limit"]
    assert rate["EvaluationWindowSec"] == configured["evaluationWindowSeconds"]
    assert rate["EvaluationWindowSec"] in (60, 120, 300, 600)
    # ... and counts only requests that do not come from a provider range
    ip_set_id, _ = stage.one("AWS::WAFv2::IPSet")
    assert rate["ScopeDownStatement"] == {
        "NotStatement": {
            "Statement": {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": [ip_set_id, "Arn"]}}}
        }
    }


def test_provider_ranges_come_from_context(dev: Synthesized, prod: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::WAFv2::IPSet",
        {"Scope": "REGIONAL", "IPAddressVersion": "IPV4", "Addresses": DEV_PROVIDER_RANGES},
    )
    expected = cdk_context()[STAGES_KEY]["prod"]["providerSourceCidrs"]
    prod.template.has_resource_properties("AWS::WAFv2::IPSet", {"Addresses": expected})


def test_acl_is_associated_with_the_api_stage_after_the_stage_exists(stage: Synthesized) -> None:
    # GIVEN the association as synthesized
    acl_id, _ = stage.one("AWS::WAFv2::WebACL")
    _, association = stage.one("AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": "RestAPI"} in arn and arn[-1].endswith("/stages/api")
    # WHEN CloudFormation applies the SAM transform
    transformed = stage.transformed["Resources"]
    [depends_on] = transformed["WebAclAssociation"]["DependsOn"]
    # THEN the explicit dependency names the API's real stage
    assert transformed[depends_on]["Type"] == "AWS::ApiGateway::Stage"
    assert transformed[depends_on]["Properties"]["StageName"] == "api"
    assert transformed[depends_on]["Properties"]["RestApiId"] == {"Ref": "RestAPI"}


def test_blocked_and_counted_requests_are_logged(stage: Synthesized) -> None:
    acl_id, _ = stage.one("AWS::WAFv2::WebACL")
    _, logging = stage.one("AWS::WAFv2::LoggingConfiguration")
    properties = logging["Properties"]
    assert properties["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    log_group = stage.logical_id(
        "AWS::Logs::LogGroup", LogGroupName=f"aws-waf-logs-payment-webhooks-{stage.stage}"
    )
    assert {"Ref": log_group} in properties["LogDestinationConfigs"][0]["Fn::Join"][1]
    keep = properties["LoggingFilter"]["Filters"][0]
    assert properties["LoggingFilter"]["DefaultBehavior"] == "DROP" and keep["Behavior"] == "KEEP"
    assert {c["ActionCondition"]["Action"] for c in keep["Conditions"]} == {"BLOCK", "COUNT"}


def test_every_registered_providers_signature_header_is_redacted_from_waf_logs() -> None:
    # A provider added to the registry without its header here would put valid signatures in logs.
    from chalicelib.providers import PROVIDER_NAMES, get_provider
    from infrastructure.firewall import SIGNATURE_HEADERS

    redacted = {header.lower() for header in SIGNATURE_HEADERS}
    for name in PROVIDER_NAMES:
        missing = {h.lower() for h in get_provider(name).signature_headers} - redacted
        assert not missing, f"{name}: {sorted(missing)} not in infrastructure.firewall.SIGNATURE_HEADERS"
