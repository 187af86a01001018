"""Issue #13: the processor's money warnings (an unmapped provider value, a rounded historical
amount) are counted by metric filters on the processor's log group, and each alarms at once.

The filters' terms are checked against the lines the real code writes: a Stripe dispute with a
status the mapping does not know, and an ISK amount in the unit Adyen used before 2023.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_monitoring import alarm, metric_filter

WARNINGS = [
    ("UnmappedProviderValue", "unmapped-provider-values"),
    ("HistoricalAmountRounded", "historical-amounts-rounded"),
]


def unmapped_stripe_dispute() -> None:
    # A real Stripe dispute (the corpus) with a status the mapping does not know.
    from tests.unit.providers.test_issue13_normalizers import normalize, stripe_dispute

    assert normalize("stripe", "charge.dispute.updated", stripe_dispute("some_future_status")) is None


def rounded_historical_isk() -> None:
    from chalicelib.payments import money

    # Stripe and Adyen counted ISK in hundredths until 2023 (unit exponent 2); ISK has none now.
    assert money.minor_units_from_integer_or_historical(12345, "ISK", "amount", 2) == 123


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("metric", "what"), WARNINGS)
def test_processor_warnings_are_counted_on_the_processors_log_group_and_alarm_at_once(
    stage: Synthesized, metric: str, what: str
) -> None:
    # GIVEN the metric filter on the processor's log group (Chalice's, named after the function)
    properties = metric_filter(stage, metric)
    assert properties["LogGroupName"] == {"Ref": "ProcessWebhooksLogGroup"}
    assert stage.json["Resources"]["ProcessWebhooksLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${ProcessWebhooks}"
    }
    assert properties["FilterPattern"] == f'{{ $.metric = "{metric}" }}'
    [transformation] = properties["MetricTransformations"]
    assert transformation["MetricValue"] == "1"
    # THEN its alarm watches that metric and fires on the first line
    watched = alarm(stage, what)
    assert (watched["Namespace"], watched["MetricName"]) == (
        transformation["MetricNamespace"], transformation["MetricName"],
    )
    assert watched["Statistic"] == "Sum" and watched["Threshold"] == 1
    assert watched["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "docs/OPERATING.md" in watched["AlarmDescription"]


@pytest.mark.parametrize(("metric", "produce"), [
    ("UnmappedProviderValue", unmapped_stripe_dispute),
    ("HistoricalAmountRounded", rounded_historical_isk),
])
def test_the_filters_match_the_lines_the_processor_writes(
    stage: Synthesized, capsys: pytest.CaptureFixture[str], metric: str, produce: Any
) -> None:
    # WHEN the normalizers meet such a value, as in production
    capsys.readouterr()
    produce()
    written = lines(capsys)
    # THEN the line is a top-level WARNING with the metric field the filter matches
    assert [(line["level"], line["metric"]) for line in written] == [("WARNING", metric)]
    assert metric_filter(stage, metric)["FilterPattern"] == f'{{ $.metric = "{written[0]["metric"]}" }}'


def test_the_filters_depend_on_the_log_group_they_read(stage: Synthesized) -> None:
    # A Ref to the group (not a name built from the function) orders the filter after the group:
    # a filter created first fails the deployment ("The specified log group does not exist").
    for metric, _ in WARNINGS:
        assert metric_filter(stage, metric)["LogGroupName"] == {"Ref": "ProcessWebhooksLogGroup"}
