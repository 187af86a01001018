"""The benchmark's own logic: what it counts and computes (never how fast anything is)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import cost, log_cost, prices
from bench.calls import dynamodb_item_bytes
from bench.report import BEGIN, END, Report, Row, budget_row, dumps, record
from devstack import callcount


def test_the_call_counter_counts_each_call_by_function_as_it_goes(tmp_path: Path) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        # GIVEN a client with the counter attached, as the local stack attaches it to the app's
        dynamodb = boto3.session.Session(region_name="us-east-1").client("dynamodb")
        dynamodb.create_table(
            TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        counter = callcount.CallCounter(tmp_path / callcount.FILE_NAME)
        counter.attach(dynamodb, "dynamodb")

        # WHEN the route makes two calls and the processor one
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "b"}})
        running = callcount.FUNCTION.set("process_webhooks")
        try:
            dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
        finally:
            callcount.FUNCTION.reset(running)

    # THEN the file a client reads already holds every call, by function, with what went on the wire
    state = callcount.read(tmp_path)
    calls = {(row["function"], row["operation"]): row["count"] for row in state["calls"]}
    assert calls == {("api_handler", "PutItem"): 2, ("process_webhooks", "GetItem"): 1}
    assert sum(row["count"] for row in state["requests"]) == 3


def test_counting_is_off_unless_asked_for(tmp_path: Path) -> None:
    assert not callcount.enabled({}) and callcount.enabled({callcount.ENABLE_VARIABLE: "1"})
    assert callcount.read(tmp_path) == {"calls": [], "requests": []}


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"pk": {"S": "abc"}}, 2 + 3),
        ({"n": {"N": "12345"}}, 1 + 4),  # 5 significant digits: 3 bytes + 1
        ({"m": {"M": {"a": {"S": "xy"}}}}, 1 + 3 + 1 + 1 + 2),
        ({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}, 1 + 3 + 2 * (1 + 1)),
        ({"é": {"S": "é"}}, 2 + 2),
    ],
)
def test_item_sizes_follow_dynamodbs_rules(item: dict, size: int) -> None:
    assert dynamodb_item_bytes(item) == size


def test_a_budget_row_compares_with_its_limit() -> None:
    assert budget_row("f", "n", 2.0, "calls", 2).met is True
    assert budget_row("f", "n", 2.01, "calls", 2).met is False
    assert budget_row("f", "n", 10.0, "MB", 10, inclusive=False).met is False
    assert budget_row("f", "n", 1.5, "calls", 3).ratio == 0.5


def test_a_missed_budget_is_reported_in_json_and_the_doc(tmp_path: Path) -> None:
    report = Report(rows=[Row("1 x", "met", 1.0, "µs", "them", 2.0, 0.5, "<= 1", True),
                          Row("1 x", "missed", 3.0, "µs", "them", 2.0, 1.5, "<= 1", False),
                          Row("6 x", "info", 1.0, "$", "-", None, None, "info", None)])
    document = json.loads(dumps(report))
    assert document["missed"] == ["1 x: missed"]
    assert [row["verdict"] for row in document["rows"]] == ["MET", "MISSED", "info"]

    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text(f"# Performance\n\nprose\n\n{BEGIN}\nold figures\n{END}\n\nmore prose\n")
    record(report, ["#### details"], path=doc)
    text = doc.read_text()
    assert "old figures" not in text and "**MISSED**" in text and "#### details" in text
    assert text.startswith("# Performance\n\nprose\n") and text.endswith("more prose\n")


def test_cost_lines_turn_units_and_prices_into_dollars_per_million() -> None:
    per_request = prices.Line("s", "w", 1, "requests", prices.API_GATEWAY_REST_PER_MILLION, "b")
    per_10k = prices.Line("s", "w", 2, "requests", prices.KMS_REQUESTS_PER_10K, "b")
    per_gb_second = prices.Line("s", "w", 0.5 * 0.020, "GB-s", prices.LAMBDA_ARM64_GB_SECOND, "b")
    assert per_request.dollars_per_million == pytest.approx(3.50)
    assert per_10k.dollars_per_million == pytest.approx(2 * 0.03 * 100)
    assert per_gb_second.dollars_per_million == pytest.approx(0.01 * 0.0000133334 * 1e6)


def test_the_cost_model_uses_the_measured_calls() -> None:
    inputs = cost.CostInputs(
        ingest_calls={"dynamodb.PutItem": 1},
        processing_calls={"dynamodb.BatchGetItem": 0.2, "dynamodb.PutItem": 1, "dynamodb.UpdateItem": 1,
                          "sns.PublishBatch": 0.1},
        webhook_item_bytes=1500, webhook_write_units=2, payment_item_bytes=900, handler_microseconds=40,
        log_bytes_per_webhook=700, audit_log_bytes_per_webhook=1000,
        read_units_per_webhook=2.0, processor_cpu_ms_per_batch=15.0,
        memory_mb={"api_handler": 512, "process_webhooks": 512, "audit_changes": 256, "enqueue_new_webhooks": 256},
    )
    lines = {line.what: line for line in cost.line_items(inputs)}
    webhook_put = next(line for what, line in lines.items() if what.startswith("webhook put"))
    assert webhook_put.units_per_webhook == 2  # a 1.5 KB item is 2 WRU, and no index entry
    # the message is the outbox's (one send per stream batch), not the receiver's
    assert lines["SendMessage by the receiver (duplicates past the resend delay)"].units_per_webhook == 0
    assert lines["SendMessage(Batch) by the outbox"].units_per_webhook == 1  # low rate: one per stream batch
    assert lines["enqueue (the outbox): invocations and ~2 ms each"].units_per_webhook == 1
    rows, details = cost.run(inputs)
    first, scaled = details["scenarios"]
    assert rows[0].ours == pytest.approx(sum(line["dollarsPerMillion"] for line in first["lines"]), abs=0.02)
    assert rows[1].ours < rows[0].ours  # at scale X-Ray samples a few percent
    assert details["pricesAsOf"] == prices.PRICES_AS_OF and "2025" in cost.markdown(details)


def test_the_end_to_end_run_sends_samples_the_catalog_has() -> None:
    from bench.calls import NEW_EVENT_SAMPLES, SOURCES
    from ops import samples

    assert set(NEW_EVENT_SAMPLES) == set(SOURCES)
    for provider, names in NEW_EVENT_SAMPLES.items():
        assert set(names) <= set(samples.sample_names(provider)), provider


def test_the_processing_benchmark_sends_deliveries_its_providers_accept() -> None:
    # (it once built Adyen pspReferences the receiver refuses, and crashed `make bench`)
    import time

    from bench.processing import deliveries
    from chalicelib.providers import get_provider
    from chalicelib.sources import parse_source
    from tests import samples

    now = time.time()
    for provider, body, headers in deliveries(2):
        source = parse_source(provider, samples.SOURCES[provider])
        lowered = {name.lower(): value for name, value in headers.items()}
        assert get_provider(provider).verify(body, lowered, source, now), provider


@pytest.mark.parametrize(("ratio", "met"), [(1.0, True), (2.9, True), (3.0, True), (3.1, False)])
def test_the_route_handler_budget_is_within_three_times_the_bare_verify(ratio: float, met: bool) -> None:
    from bench import ingest

    # GIVEN handler times `ratio` times the bare verify + parse, on every delivery
    bare = [20e-6] * 9
    times = {"stripe": ([t * ratio for t in bare], bare)}

    # THEN the budgeted row (the p50 of the mix) is met up to 3x, and says so
    [budgeted] = [row for row in ingest.rows(times) if row.met is not None]
    assert budgeted.budget == "<= 3.0" and budgeted.met is met


def _finished_item(payload: str, headers: dict[str, str]) -> dict:
    """A webhook item as the processor leaves it: final, its attempt in the history."""
    from chalicelib.webhooks.record import WebhookRecord, attempt_entry, received_item

    record = WebhookRecord.from_item(received_item(
        "wh_" + "b" * 32, "stripe", "stripe", "evt_1", "charge.succeeded", payload, "2026-12-01T11:00:00.000000Z",
        1_790_000_000, headers=headers, answer="200 accepted",
    ))
    record.status, record.attempts = "processed", 1
    record.attempt_log = (attempt_entry(1_764_586_800.0, "processed"),)
    return record.to_item()


def _measured(items: list[dict], puts_per_new: int = 2) -> dict:
    from collections import Counter

    from bench.calls import webhook_writes

    return {
        "itemSizes": {"dedupe": {"count": 2, "meanBytes": 169, "maxBytes": 169, "meanWriteUnits": 1.0},
                      "payment": {"count": 2, "meanBytes": 1100, "maxBytes": 1100, "meanWriteUnits": 2.0}},
        "webhookWrites": [webhook_writes(item) for item in items],
        "webhooksAcked": len(items),
        "perRequest": {"new event": [(1, Counter({"dynamodb.PutItem": puts_per_new}))] * len(items)},
        "byFunction": {"process_webhooks": Counter({"dynamodb.UpdateItem": len(items),
                                                    "dynamodb.PutItem": len(items)})},
    }


def test_write_units_count_every_write_of_a_new_webhook_by_its_billed_size() -> None:
    from bench.calls import write_units

    small = _finished_item('{"id":"evt_1"}', {})
    figures = write_units(_measured([small, small]))
    # marker 1 + record put 1 + final update 1 + payment 2 (1,100 B): no index rows (the stream queues)
    assert figures == {"markers": 1.0, "recordPut": 1.0, "finalUpdate": 1.0, "paymentWrites": 2.0}
    # PayPal's transmission marker is one more put on the same request: one more unit.
    assert write_units(_measured([small], puts_per_new=3))["markers"] == 2.0


def test_write_units_show_what_compression_saved_from_the_same_items() -> None:
    from bench.calls import units, webhook_writes, write_units

    payload = json.dumps({"data": [{"object": "charge", "amount": n, "currency": "eur"} for n in range(24)]})
    item = _finished_item(payload, {"user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
    writes = webhook_writes(item)
    assert units(writes["plainPut"]) == 2 and units(writes["put"]) == 1
    assert writes["final"] >= dynamodb_item_bytes(item)  # the larger image is billed
    assert write_units(_measured([item]))["recordPut"] == 1.0
    assert write_units(_measured([item]), plain=True)["recordPut"] == 2.0
    assert write_units(_measured([item]), plain=True)["finalUpdate"] == 2.0


def test_read_units_round_each_item_up_to_4_kb_and_count_a_missing_key_as_one_read() -> None:
    from bench.processing import read_units

    small = {"pk": {"S": "a"}, "payload": {"S": "x" * 100}}
    large = {"pk": {"S": "b"}, "payload": {"S": "x" * 5000}}  # two 4 KB units
    asked = {"RequestItems": {"t": {"Keys": [{"pk": {"S": k}} for k in "abcd"], "ConsistentRead": True}}}
    answered = {"Responses": {"t": [small, large]}, "UnprocessedKeys": {"t": {"Keys": [{"pk": {"S": "d"}}]}}}
    # a: 1, b: 2, c missing: 1, d unprocessed: not read
    assert read_units(asked, answered) == 4.0
    eventually = {"RequestItems": {"t": {**asked["RequestItems"]["t"], "ConsistentRead": False}}}
    assert read_units(eventually, answered) == 2.0
    # GetItem: found or not, one consistent read at least
    assert read_units({"Key": {"pk": {"S": "a"}}, "ConsistentRead": True}, {"Item": large}) == 2.0
    assert read_units({"Key": {"pk": {"S": "z"}}, "ConsistentRead": True}, {}) == 1.0


def test_the_access_log_line_is_priced_from_the_stacks_format() -> None:
    from infrastructure.log_settings import ACCESS_LOG_FORMAT

    line = log_cost.access_log_line_bytes()
    # Every variable of the deployed format has a value, and the line is valid JSON of the same fields
    filled = ACCESS_LOG_FORMAT
    for variable, value in log_cost.TYPICAL_ACCESS_LOG_VALUES.items():
        filled = filled.replace(variable, value)
    assert json.loads(filled).keys() == json.loads(ACCESS_LOG_FORMAT).keys()
    assert line == len(filled.encode()) and 200 < line < 330
    # A field added to the format without a typical value fails the model, not silently
    with pytest.raises(ValueError, match="no typical value"):
        log_cost.access_log_line_bytes(ACCESS_LOG_FORMAT[:-1] + ',"agent":"$context.identity.userAgent"}')


def test_own_time_leaves_out_what_the_aws_calls_take() -> None:
    import time

    import boto3
    from moto import mock_aws

    from bench.processing import AwsCallTimer, own_milliseconds

    with mock_aws():
        dynamodb = boto3.session.Session(region_name="us-east-1").client("dynamodb")
        timer = AwsCallTimer()
        timer.attach(dynamodb)

        def handler() -> str:
            for _ in range(5):
                dynamodb.list_tables()  # moto answers in this process: time spent inside the call
            try:
                dynamodb.describe_table(TableName="absent")  # a failed call is timed too
            except dynamodb.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.05)  # the handler's own time
            return "done"

        started = time.perf_counter()
        result, own = own_milliseconds(timer, handler)
        total_ms = (time.perf_counter() - started) * 1000
    assert result == "done"
    assert 50 <= own < total_ms
    assert timer.seconds * 1000 == pytest.approx(total_ms - own, abs=1.0)  # the calls' time was taken out
    assert timer.seconds > 0.0005
