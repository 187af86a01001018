"""Static checks on the real templates: cdk-nag's AwsSolutions pack and cfn-lint, for both stages
and for the plain ``chalice package --stage prod`` output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from tests.infrastructure.conftest import REPO_ROOT, Synthesized

MIN_REASON_LENGTH = 150  # a sentence that names the constraint and the mitigation, not "needed"


def lint(template: Path) -> list:
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    return cfn_lint(template.read_text(), config=ManualArgs(regions=["us-east-1"]))


def describe(matches: list) -> str:
    return "\n".join(f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches)


def test_cdk_nag_aws_solutions_reports_no_unsuppressed_errors(stage: Synthesized) -> None:
    errors = Annotations.from_stack(stage.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], "\n".join(f"{e.id}: {e.entry.data}" for e in errors)


def test_cdk_nag_reports_no_unsuppressed_warnings_either(stage: Synthesized) -> None:
    warnings = Annotations.from_stack(stage.stack).find_warning(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert warnings == [], "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_cdk_nag_really_ran_over_the_stack(stage: Synthesized) -> None:
    [report] = stage.outdir.glob("AwsSolutions-*-NagReport.csv")
    with report.open() as handle:
        rows = list(csv.DictReader(handle))
    compliant = {
        (row["Rule ID"], row["Resource ID"].split("/")[1]) for row in rows if row["Compliance"] == "Compliant"
    }
    for rule, resource in [
        ("AwsSolutions-DDB3", "WebhookTable"),  # point-in-time recovery
        ("AwsSolutions-KMS5", "Key"),  # key rotation
        ("AwsSolutions-SQS2", "ProcessingQueue"),  # server-side encryption
        ("AwsSolutions-SQS4", "ProcessingQueue"),  # TLS only
        ("AwsSolutions-SNS3", "AlertsTopic"),  # TLS only
    ]:
        assert (rule, resource) in compliant, (rule, resource)
    assert not [row for row in rows if row["Compliance"] == "Non-Compliant"]


def test_every_suppression_is_scoped_and_explained(stage: Synthesized) -> None:
    suppressions = [
        (logical_id, rule)
        for logical_id, resource in stage.json["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions
    for logical_id, rule in suppressions:
        assert len(rule["reason"]) >= MIN_REASON_LENGTH, (logical_id, rule)
        if rule["id"] in ("AwsSolutions-IAM4", "AwsSolutions-IAM5"):
            assert rule.get("applies_to"), (
                f"{logical_id}: {rule['id']} must name the exact finding it accepts"
            )
    accepted = {rule["id"] for _, rule in suppressions}
    assert accepted <= {
        "AwsSolutions-IAM4", "AwsSolutions-IAM5", "AwsSolutions-SMG4", "AwsSolutions-SQS3", "AwsSolutions-S1"
    }


def test_cfn_lint_finds_no_error_or_warning_in_the_stack(stage: Synthesized) -> None:
    matches = lint(stage.template_path)
    assert matches == [], describe(matches)


PROD_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:111122223333:table/payment-webhooks-prod/stream/2026-01-01T00:00:00.000"
)
"""What a deployer exports from the stack's WebhookTableStreamArn output (README)."""


def chalice_package(stage: str, out: Path, **variables: str) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    for name in ("WEBHOOK_TABLE_STREAM_ARN", "PROCESSING_QUEUE_NAME", "AWS_LAMBDA_FUNCTION_NAME"):
        environment.pop(name, None)
    environment.update(variables)
    return subprocess.run(
        [str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage, str(out)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_chalice_package_of_a_deployed_stage_refuses_the_local_placeholder_stream(tmp_path: Path) -> None:
    # GIVEN a deployer who forgot to export the stack's stream ARN
    # WHEN they package (or deploy) the dev stage with Chalice alone
    result = chalice_package("dev", tmp_path / "dev")
    # THEN it fails, naming the variable, and writes no template wired to the local placeholder
    assert result.returncode != 0
    stderr = result.stderr.decode()
    assert "WEBHOOK_TABLE_STREAM_ARN is not set for stage 'dev'" in stderr, stderr[-2000:]
    assert not (tmp_path / "dev" / "sam.json").exists()


def test_decorator_values_are_checked_only_when_packaging_a_deployed_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import settings

    for name in ("WEBHOOK_TABLE_STREAM_ARN", "PROCESSING_QUEUE_NAME", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "local")  # the local stack: its own placeholder names are right
    assert settings.table_stream_arn() == settings.DEFAULT_STREAM_ARN
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(settings.PlaceholderWiring, match="WEBHOOK_TABLE_STREAM_ARN"):
        settings.table_stream_arn()
    with pytest.raises(settings.PlaceholderWiring, match="PROCESSING_QUEUE_NAME"):
        settings.processing_queue_name()
    monkeypatch.setenv("PROCESSING_QUEUE_NAME", settings.DEFAULT_QUEUE_NAME)  # set, but the placeholder
    with pytest.raises(settings.PlaceholderWiring, match="PROCESSING_QUEUE_NAME"):
        settings.processing_queue_name()
    monkeypatch.setenv("WEBHOOK_TABLE_STREAM_ARN", PROD_STREAM_ARN)
    assert settings.table_stream_arn() == PROD_STREAM_ARN
    # inside a deployed function the decorators' values are unused and importing must not fail
    monkeypatch.delenv("WEBHOOK_TABLE_STREAM_ARN")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "payment-webhooks-prod-audit_changes")
    assert settings.table_stream_arn() == settings.DEFAULT_STREAM_ARN


@pytest.fixture(scope="module")
def chalice_prod_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain-Chalice path: `chalice package --stage prod` as a deployer would run it, with the
    stack's stream ARN exported (README)."""
    out = tmp_path_factory.mktemp("chalice-package") / "prod"
    environment = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "WEBHOOK_TABLE_STREAM_ARN": PROD_STREAM_ARN,
    }
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--stage", "prod", str(out)],
        cwd=REPO_ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out / "sam.json"


def test_chalice_package_prod_passes_cfn_lint(chalice_prod_package: Path) -> None:
    matches = lint(chalice_prod_package)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert errors == [], describe(errors)


def test_chalice_package_prod_gives_each_function_its_own_least_privilege_role(
    chalice_prod_package: Path,
) -> None:
    template = json.loads(chalice_prod_package.read_text())
    resources = template["Resources"]
    for function, role in {
        "api_handler": "ApiHandlerRole",
        "process_webhooks": "ProcessWebhooksRole",
        "audit_changes": "AuditChangesRole",
        "enqueue_new_webhooks": "EnqueueNewWebhooksRole",
        "reconcile_missed_webhooks": "ReconcileMissedWebhooksRole",
    }.items():
        [policy] = resources[role]["Properties"]["Policies"]
        expected = json.loads((REPO_ROOT / ".chalice" / f"policy-prod-{function}.json").read_text())
        assert policy["PolicyDocument"] == expected
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 5
    assert all(f["Architectures"] == ["arm64"] and f["Tracing"] == "Active" for f in functions)
