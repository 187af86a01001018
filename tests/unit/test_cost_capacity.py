"""The cost model's two table capacity modes (``tableCapacity``): provisioned capacity follows the
measured write and read units, the main totals stay on demand (the stages' default), and a second
total is labelled as provisioned."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench import capacity_cost, cost, prices
from infrastructure.stage_config import DEFAULT_TARGET_UTILIZATION

MEMORY = {"api_handler": 512, "process_webhooks": 512, "audit_changes": 256, "enqueue_new_webhooks": 256}


def inputs(webhook_item_bytes: float = 800, webhook_write_units: float = 1.0) -> cost.CostInputs:
    return cost.CostInputs(
        ingest_calls={"dynamodb.PutItem": 1.3},
        processing_calls={"dynamodb.BatchGetItem": 0.2, "dynamodb.PutItem": 1.05, "dynamodb.UpdateItem": 1,
                          "sns.PublishBatch": 0.1},
        webhook_item_bytes=webhook_item_bytes, webhook_write_units=webhook_write_units, payment_item_bytes=640,
        handler_microseconds=370, log_bytes_per_webhook=700, audit_log_bytes_per_webhook=1400,
        read_units_per_webhook=2.0, processor_cpu_ms_per_batch=15.0, memory_mb=MEMORY,
    )


def test_capacity_is_the_consumed_units_over_the_target_share_rounded_up() -> None:
    assert capacity_cost.provisioned_units(3.4, 100, 70) == math.ceil(340 / 0.7) == 486
    assert capacity_cost.provisioned_units(2.0, 100, 50) == 400
    assert capacity_cost.provisioned_units(0.0, 100, 70) == 0


def test_provisioned_prices_the_same_units_the_on_demand_lines_count() -> None:
    scaled = cost.at_scale(inputs())
    capacity = cost.table_capacity_cost(scaled)
    on_demand = [line for line in cost.line_items(scaled) if line.unit in ("WRU", "RRU")]
    # the ingest put (1 unit), the marker (0.3), the final update (1), the payment write (1.05)
    assert capacity.write_units_per_webhook == pytest.approx(sum(x.units_per_webhook for x in on_demand
                                                                 if x.unit == "WRU")) == pytest.approx(3.35)
    assert capacity.read_units_per_webhook == pytest.approx(2.0)
    assert capacity.target_utilization == DEFAULT_TARGET_UTILIZATION
    assert capacity.write_capacity_units == math.ceil(3.35 * 100 / 0.7)
    # per million webhooks: the units' hours shared by the webhooks of those hours
    writes, reads = capacity.provisioned_lines()
    webhooks_per_hour = 100 * 3600
    assert writes.dollars_per_million == pytest.approx(
        capacity.write_capacity_units * prices.DYNAMODB_PROVISIONED_WCU_HOUR.dollars / webhooks_per_hour * 1e6)
    assert reads.dollars_per_million == pytest.approx(
        capacity.read_capacity_units * prices.DYNAMODB_PROVISIONED_RCU_HOUR.dollars / webhooks_per_hour * 1e6)
    assert capacity.monthly_provisioned == pytest.approx(
        (writes.dollars_per_million + reads.dollars_per_million) * webhooks_per_hour
        * capacity_cost.HOURS_PER_MONTH / 1e6,
        rel=1e-9)


def test_larger_measured_items_mean_more_provisioned_capacity() -> None:
    # the capacity comes from the measurement: a record of two units raises it, no typed-in figure holds it
    small = cost.table_capacity_cost(cost.at_scale(inputs()))
    large = cost.table_capacity_cost(cost.at_scale(inputs(webhook_item_bytes=1300, webhook_write_units=2.0)))
    assert large.write_units_per_webhook == pytest.approx(small.write_units_per_webhook + 2.0)
    assert large.write_capacity_units > small.write_capacity_units
    assert large.dynamodb_provisioned > small.dynamodb_provisioned


def test_at_a_sustained_100_per_second_provisioned_is_cheaper_and_the_totals_stay_on_demand() -> None:
    rows, details = cost.run(inputs())
    capacity = details["tableCapacity"]
    at_scale = details["scenarios"][1]
    assert capacity["webhooksPerSecond"] == 100
    # the main 100/s figure is the on-demand one, as both stages ship
    assert capacity["onDemand"]["totalDollarsPerMillion"] == at_scale["dollarsPerMillionWebhooks"]
    assert capacity["provisioned"]["dynamoDbDollarsPerMillion"] < capacity["onDemand"]["dynamoDbDollarsPerMillion"] / 2
    assert capacity["provisioned"]["totalDollarsPerMillion"] == pytest.approx(
        at_scale["dollarsPerMillionWebhooks"] - capacity["onDemand"]["dynamoDbDollarsPerMillion"]
        + capacity["provisioned"]["dynamoDbDollarsPerMillion"], abs=0.01)
    labelled = [row for row in rows if "provisioned" in row.name]
    assert len(labelled) == 1 and "tableCapacity" in labelled[0].name
    assert labelled[0].ours == capacity["provisioned"]["totalDollarsPerMillion"]
    assert [row.ours for row in rows if row not in labelled] == [
        scenario["dollarsPerMillionWebhooks"] for scenario in details["scenarios"]]


def test_the_cost_details_show_both_modes_with_their_totals() -> None:
    _, details = cost.run(inputs())
    text = cost.markdown(details)
    assert "| on demand (default) |" in text and "| provisioned, auto scaling |" in text
    assert f"{details['tableCapacity']['provisioned']['writeCapacityUnits']} WCU" in text
    assert f"**{details['tableCapacity']['provisioned']['totalDollarsPerMillion']:.2f}**" in text


def test_a_lower_target_utilization_provisions_more_and_costs_more() -> None:
    scaled = cost.at_scale(inputs())
    at_70 = cost.table_capacity_cost(scaled, 70)
    at_40 = cost.table_capacity_cost(scaled, 40)
    assert at_40.write_capacity_units > at_70.write_capacity_units
    assert at_40.total_provisioned > at_70.total_provisioned
    # the rate matters: the same webhooks at a tenth of the rate need a tenth of the units
    slow = cost.table_capacity_cost(replace(scaled, webhooks_per_second=10.0), 70)
    assert abs(slow.write_capacity_units * 10 - at_70.write_capacity_units) <= 10
