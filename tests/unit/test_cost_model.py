"""The cost model follows the design: markers, sampling per stage, access logs, the dated comparison."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import cost, log_cost, prices
from infrastructure import log_settings

MEMORY = {"api_handler": 512, "process_webhooks": 512, "audit_changes": 256, "enqueue_new_webhooks": 256}


def inputs(ingest_puts: float = 2) -> cost.CostInputs:
    return cost.CostInputs(
        ingest_calls={"dynamodb.PutItem": ingest_puts},
        processing_calls={"dynamodb.BatchGetItem": 0.2, "dynamodb.PutItem": 1, "dynamodb.UpdateItem": 1,
                          "sns.PublishBatch": 0.1},
        webhook_item_bytes=1500, webhook_write_units=2, payment_item_bytes=900, handler_microseconds=40,
        log_bytes_per_webhook=700, audit_log_bytes_per_webhook=1400,
        read_units_per_webhook=2.0, processor_cpu_ms_per_batch=15.0, memory_mb=MEMORY,
    )


def by_what(model: cost.CostInputs) -> dict[str, prices.Line]:
    return {line.what.split(" (")[0]: line for line in cost.line_items(model)}


def test_the_dedupe_marker_is_one_write_unit_not_a_second_record() -> None:
    lines = by_what(inputs(ingest_puts=2))  # the marker's put, then the record's
    assert lines["webhook put"].units_per_webhook == 2  # a 1.5 KB record, once; no index entry
    assert lines["dedupe marker"].units_per_webhook == 1
    assert by_what(inputs(ingest_puts=1))["dedupe marker"].units_per_webhook == 0


def test_the_models_sampling_rules_are_the_stages_own() -> None:
    """The cost model prices the rules infrastructure/cdk.json deploys (a copy that drifted would
    price a rule nobody runs)."""
    import json
    from pathlib import Path

    context = json.loads((Path(cost.ROOT) / "infrastructure" / "cdk.json").read_text())["context"]
    stages = context["payment-webhooks:stages"]

    def rule(stage: str) -> tuple[float, float]:
        sampling = stages[stage]["xraySampling"]
        return float(sampling["reservoirPerSecond"]), float(sampling["fixedRate"])

    assert (rule("prod"), rule("dev")) == (cost.PROD_SAMPLING, cost.DEV_SAMPLING)


@pytest.mark.parametrize(("per_second", "sampling", "share"), [
    (0.4, cost.PROD_SAMPLING, 1.0),  # below the reservoir: everything
    (100, cost.PROD_SAMPLING, (1 + 99 * 0.01) / 100),
    (100, cost.DEV_SAMPLING, 1.0),
    (0, cost.PROD_SAMPLING, 0.0),
])
def test_a_sampling_rule_traces_its_reservoir_then_its_rate(per_second: float, sampling: tuple[float, float],
                                                             share: float) -> None:
    assert cost.traced_share(per_second, sampling) == pytest.approx(share)


def test_xray_is_shown_at_both_stage_rates_and_prods_rule_is_the_cheaper_at_volume() -> None:
    _, details = cost.run(inputs())
    at_volume = details["xrayBySampling"]["100 per second"]
    dev, prod = at_volume.values()
    assert prod < dev / 10
    # one million a month is below the 1/s reservoir: the rule changes nothing there
    low = details["xrayBySampling"]["0.4 per second"]
    assert len(set(low.values())) == 1
    text = cost.markdown(details)
    assert "fixedRate 1.0" in text and "then 5 %" in text


def test_the_access_log_line_and_the_reconciler_are_counted() -> None:
    assert by_what(inputs())["API Gateway access log line"].units_per_webhook > 0
    fixed = {what.split(",")[0].split(" (")[0]: amount for what, amount, _ in cost.fixed_monthly()}
    assert fixed["Lambda: the reconciler"] > 0


def test_the_hosted_gateway_comparison_is_dated_and_sourced() -> None:
    _, details = cost.run(inputs())
    hosted = details["hostedGateways"]
    assert hosted["asOf"].startswith("20") and all(row["source"].startswith("https://") for row in hosted["rows"])
    assert "Hookdeck" in cost.markdown(details) and hosted["asOf"] in cost.markdown(details)


def test_the_scaled_scenario_is_the_rate_not_a_share_typed_in() -> None:
    scaled = cost.at_scale(inputs())
    assert scaled.webhooks_per_second == 100
    assert cost.traces_per_webhook(scaled) < cost.traces_per_webhook(replace(scaled, api_sampling=cost.DEV_SAMPLING))


def test_the_sweeper_is_gone_and_the_outbox_is_counted_with_batched_sends() -> None:
    fixed = [what for what, _, _ in cost.fixed_monthly()]
    assert not any("sweeper" in what for what in fixed)
    low = by_what(inputs())
    assert low["enqueue"].units_per_webhook == 1  # low rate: one stream batch (and send) per webhook
    full = by_what(replace(inputs(), audit_invocations_per_webhook=0.1))
    assert full["SendMessage(Batch) by the outbox"].units_per_webhook == pytest.approx(0.1)  # ten ids per call
    assert "sweep" not in " ".join(line.what for line in cost.line_items(inputs()))


def test_log_lines_are_priced_by_the_class_and_system_level_the_stack_gives_them() -> None:
    lines = by_what(inputs())
    assert lines["receiver's and processor's lines"].price == prices.CLOUDWATCH_LOGS_INGEST_GB  # metric filters
    assert lines["audit lines"].price == prices.CLOUDWATCH_LOGS_INGEST_IA_GB
    assert lines["audit lines"].units_per_webhook == pytest.approx(1400 / 1e9)  # the measured bytes
    assert lines["API Gateway access log line"].price == prices.CLOUDWATCH_LOGS_INGEST_IA_GB
    assert prices.CLOUDWATCH_LOGS_INGEST_IA_GB.dollars == prices.CLOUDWATCH_LOGS_INGEST_GB.dollars / 2
    # SystemLogLevel WARN: Lambda's START/END/REPORT (INFO) are not ingested
    assert log_settings.SYSTEM_LOG_LEVEL == "WARN"
    assert lines["Lambda's START/END/REPORT"].units_per_webhook == 0


def test_platform_lines_count_every_invocation_where_the_level_lets_them_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_settings, "PLATFORM_LINES_LOGGED", True)
    low = by_what(inputs())["Lambda's START/END/REPORT"]
    # receive, a tenth of a processor batch, the audit's and the outbox's stream batches (one each)
    assert low.units_per_webhook == pytest.approx(log_cost.PLATFORM_LOG_BYTES * (1 + 0.1 + 1 + 1) / 1e9)
