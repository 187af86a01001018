"""Stage settings, the entry point and the construct's pitfalls (no synthesis needed)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.firewall import integer_greater_than_pattern
from infrastructure.stage_config import StageConfigError, load_chalice_config, stage_config
from tests.infrastructure.conftest import (
    CDK_JSON,
    PROD_ALERT_ENDPOINT,
    REPO_ROOT,
    STAGES_KEY,
    Synthesized,
    cdk_context,
)


def context_with(stage: str, **changes: object) -> dict:
    context = copy.deepcopy(cdk_context())
    context[STAGES_KEY][stage].update(changes)
    return context


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_json_stages_are_valid(stage: str) -> None:
    # prod needs a subscriber that cdk.json does not hold (a deployer's): the one conftest gives it
    config = stage_config(stage, {**cdk_context(), "alertEndpoint": PROD_ALERT_ENDPOINT})
    assert config.names.stack_name == f"payment-webhooks-{stage}"
    assert config.max_receives == int(
        load_chalice_config()["stages"][stage]["environment_variables"]["MAX_RECEIVES"]
    )


@pytest.mark.parametrize("window", [0, 30, 59, 61, 3600])
def test_waf_window_must_be_one_wafs_accepts(window: int) -> None:
    with pytest.raises(StageConfigError, match="evaluation window"):
        stage_config(
            "dev", context_with("dev", wafRateLimit={"limit": 100, "evaluationWindowSeconds": window})
        )


def test_waf_limit_has_a_floor() -> None:
    with pytest.raises(StageConfigError, match="rate limit"):
        stage_config("dev", context_with("dev", wafRateLimit={"limit": 9, "evaluationWindowSeconds": 60}))


def test_unknown_stage_and_unknown_function_are_rejected() -> None:
    with pytest.raises(StageConfigError, match="unknown stage"):
        stage_config("staging", cdk_context())
    with pytest.raises(StageConfigError, match="unknown functions"):
        stage_config("dev", context_with("dev", reservedConcurrency={"receiver": 5}))


def test_config_json_must_point_the_app_at_the_stacks_names() -> None:
    chalice = load_chalice_config()
    chalice["stages"]["dev"]["environment_variables"]["WEBHOOK_TABLE_NAME"] = "some-other-table"
    with pytest.raises(StageConfigError, match="WEBHOOK_TABLE_NAME"):
        stage_config("dev", cdk_context(), chalice)


def run_entry_point(tmp_path: Path, context: dict) -> subprocess.CompletedProcess[str]:
    """``cdk_app.py`` as ``make synth`` and the CDK CLI run it, in a scratch directory."""
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("WEBHOOK_TABLE_STREAM_ARN", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "infrastructure" / "cdk_app.py")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


def test_prod_without_an_alert_subscriber_refuses_to_synthesize(tmp_path: Path) -> None:
    # GIVEN prod as cdk.json configures it, with no subscriber on the command line either
    assert stage_config("prod", {**cdk_context(), "alertEmail": "oncall@example.com"}).require_alert_subscriber
    # WHEN it is synthesized
    result = run_entry_point(tmp_path, {"stage": "prod"})
    # THEN it stops with one line that names what to set, and writes no template
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "stage prod needs an alert subscriber" in result.stderr
    for setting in ("alertEmail", "alertEndpoint", "infrastructure/cdk.json"):
        assert setting in result.stderr
    assert not list(tmp_path.glob("cdk.out/*.template.json"))
    with pytest.raises(StageConfigError, match="alertEmail"):
        stage_config("prod", cdk_context())


def test_dev_without_an_alert_subscriber_synthesizes_with_a_warning(tmp_path: Path) -> None:
    assert not stage_config("dev", cdk_context()).has_alert_subscriber  # cdk.json's dev has none
    result = run_entry_point(tmp_path, {"stage": "dev"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stage dev has no alert subscriber: its alarms reach no one" in result.stderr
    assert (tmp_path / "cdk.out" / "dev.template.json").exists()


def test_alert_endpoint_must_be_https() -> None:
    assert stage_config("prod", {**cdk_context(), "alertEndpoint": PROD_ALERT_ENDPOINT}).has_alert_subscriber
    with pytest.raises(StageConfigError, match="https"):
        stage_config("prod", {**cdk_context(), "alertEndpoint": "http://alerts.example.com/"})


@pytest.mark.parametrize("value", [0, 1, 1001, "5", None])
def test_processor_maximum_concurrency_stays_in_what_sqs_accepts(value: object) -> None:
    with pytest.raises(StageConfigError, match="processorMaximumConcurrency"):
        stage_config("dev", context_with("dev", processorMaximumConcurrency=value))


def test_processor_maximum_concurrency_cannot_exceed_its_reserved_concurrency() -> None:
    context = context_with("dev", processorMaximumConcurrency=5, reservedConcurrency={"process_webhooks": 4})
    with pytest.raises(StageConfigError, match="reservedConcurrency"):
        stage_config("dev", context)
    ok = context_with("dev", processorMaximumConcurrency=4, reservedConcurrency={"process_webhooks": 4})
    assert stage_config("dev", ok).processor_max_concurrency == 4


def test_alert_email_from_the_command_line_wins() -> None:
    context = {**cdk_context(), "alertEmail": "ops@example.com"}
    assert stage_config("prod", context).alert_email == "ops@example.com"
    with pytest.raises(StageConfigError, match="e-mail"):
        stage_config("prod", {**cdk_context(), "alertEmail": "not-an-address"})


@pytest.mark.parametrize("limit", [0, 7, 8, 9, 10, 99, 100, 262_144, 999_999])
def test_greater_than_pattern_matches_exactly_the_larger_numbers(limit: int) -> None:
    pattern = re.compile(integer_greater_than_pattern(limit))
    for number in [*range(0, 2_000), limit - 1, limit, limit + 1, limit * 10, 10 ** (len(str(limit)) + 1)]:
        if number >= 0:
            assert bool(pattern.search(str(number))) == (number > limit), (limit, number)
            assert bool(pattern.search(f"00{number}")) == (number > limit), (limit, number)
    assert not pattern.search("") and not pattern.search("abc") and not pattern.search("-5")


def test_entry_point_cannot_shadow_the_chalice_app() -> None:
    cdk = json.loads(CDK_JSON.read_text())
    assert cdk["app"] == "python3 cdk_app.py"
    assert not (REPO_ROOT / "infrastructure" / "app.py").exists()
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert "chalice.out/" in ignored and "cdk.out/" in ignored


def test_stack_id_is_the_chalice_stage(stage: Synthesized) -> None:
    assert stage.stack.node.id == stage.stage
    assert stage.stack.stack_name == f"payment-webhooks-{stage.stage}"
    # Chalice packaged that stage: its tag on every function names it
    for function in stage.resources("AWS::Serverless::Function").values():
        assert f"stage={stage.stage}:" in function["Properties"]["Tags"]["aws-chalice"]


@pytest.mark.parametrize("throttle", [{"rateLimitPerSecond": 10_001, "burstLimit": 5000},
                                      {"rateLimitPerSecond": 10_000, "burstLimit": 5001}])
def test_a_stage_throttle_above_the_accounts_default_is_refused(throttle: dict) -> None:
    # API Gateway would never let it through: it would only look like a raised ceiling
    with pytest.raises(StageConfigError, match="account"):
        stage_config("dev", context_with("dev", apiThrottle=throttle))


def test_prod_has_no_api_ceiling_of_its_own_below_the_accounts() -> None:
    # docs/PERFORMANCE.md "Scale ceiling": prod's stage throttle was 200 rps, the lowest ceiling of
    # the whole path; now the account's quota (and DynamoDB behind it) are what limit.
    from infrastructure.stage_config import API_GATEWAY_ACCOUNT_BURST, API_GATEWAY_ACCOUNT_RATE

    config = stage_config("prod", {**cdk_context(), "alertEndpoint": PROD_ALERT_ENDPOINT})
    assert config.api_throttle.rate_limit == API_GATEWAY_ACCOUNT_RATE
    assert config.api_throttle.burst_limit == API_GATEWAY_ACCOUNT_BURST
    assert not config.reserved_concurrency  # no function capped by a reservation


def test_prods_processor_can_drain_what_a_new_table_takes_and_no_more() -> None:
    # docs/PERFORMANCE.md, the ceiling table: a new on-demand table takes 4,000 WCU at once, and a
    # webhook costs ~3.4 write units end to end (~2.1 of them the processor's: final update and
    # payment). One processor instance finishes a batch of 10 in ~0.31 s at 256 MB (figure 6: ~24
    # sequential calls at ~8 ms, and ~16 ms of its own CPU at one core stretched 6.9x to 256 MB's
    # share). Capped below the table's end-to-end rate, the processor would be the ceiling, one of
    # our own making; far above it, its throttled writes would use up the messages' receives.
    config = stage_config("prod", {**cdk_context(), "alertEndpoint": PROD_ALERT_ENDPOINT})
    drain_per_second = config.processor_max_concurrency * 10 / 0.31
    table_per_second = 4_000 / 3.4
    assert 0.95 * table_per_second <= drain_per_second <= 1.25 * table_per_second
    assert drain_per_second * 2.1 <= 4_000  # the processor's own writes alone stay within a new table
