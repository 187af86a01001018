"""The reconciler against a local Stripe-shaped events list: recovery, dedupe, cursor and faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.providers.contract import SourceConfig
from chalicelib.reconcile.cursor import CursorStore
from chalicelib.reconcile.http import JsonClient
from chalicelib.reconcile.run import (
    INITIAL_LOOKBACK_SECONDS,
    OVERLAP_SECONDS,
    ReconcileContext,
    reconcile_all,
)
from chalicelib.webhooks.record import webhook_id_for
from tests import samples
from tests.functional.events_stub import StubState, events_stub
from tests.functional.helpers import post, run_outbox

API_KEY = "rk_test_reconciler_0123456789"


def stripe_source(base_url: str, **api: str) -> SourceConfig:
    return SourceConfig(
        name="stripe", provider="stripe", secrets=(samples.STRIPE_SECRET,),
        options={"api": {"key": API_KEY, "baseUrl": base_url, **api}}, stage="local",
    )


@pytest.fixture
def stub() -> Iterator[tuple[str, StubState]]:
    with events_stub() as served:
        yield served


def context(stack: Any, sources: list[SourceConfig], alerts: list[tuple[str, str]] | None = None,
            **overrides: Any) -> ReconcileContext:
    services = runtime.services()
    return ReconcileContext(
        ingest=services.ingest,
        cursors=CursorStore(services.aws.dynamodb, services.settings.table_name),
        sources=lambda: sources,
        client=JsonClient(timeout_seconds=0.5),
        alerts=(lambda subject, message: alerts.append((subject, message))) if alerts is not None else None,
        metrics_namespace="PaymentWebhooks/local",
        **overrides,
    )


def webhook_items(stack: Any) -> list[dict[str, Any]]:
    return [item for item in stack.items() if item["itemType"]["S"] == "webhook"]


def queued_ids(stack: Any) -> list[str]:
    run_outbox(None, stack)  # a reconciled record is queued by the table stream, like a delivery
    return [json.loads(message["Body"])["webhookId"] for message in stack.drain(max_messages=10)]


def test_missed_events_are_stored_as_reconciled_queued_once_and_the_cursor_moves(stack: Any, stub: Any) -> None:
    # GIVEN three payment events the provider lists but never delivered, and one it lists that no
    # mapping reads (customer.created)
    base, state = stub
    now = int(time.time())
    events = [state.add("payment_intent.succeeded", now - 120 + i) for i in range(3)]
    state.add("customer.created", now - 60)
    alerts: list[tuple[str, str]] = []

    # WHEN the scheduled reconciler runs
    result = reconcile_all(context(stack, [stripe_source(base)], alerts), now)

    # THEN the three are stored once, as reconciled, with the key a delivery would have, and queued
    outcome = result.sources["stripe"]
    expected = {webhook_id_for("stripe", e["id"]) for e in events}
    assert set(outcome.recovered) == expected and outcome.complete and not result.failed
    items = {item["pk"]["S"]: item for item in webhook_items(stack)}
    assert set(items) == expected
    assert {item["origin"]["S"] for item in items.values()} == {"reconciled"}
    assert {item["authenticity"]["S"] for item in items.values()} == {"provider-api-tls"}
    assert sorted(queued_ids(stack)) == sorted(expected)
    # AND the key went as a bearer token, never in the URL
    path, headers = state.requests[0]
    assert headers["authorization"] == f"Bearer {API_KEY}" and API_KEY not in path
    assert "stripe-account" not in headers
    # AND the cursor is at the run's time, and the alert names the source
    cursor = CursorStore(stack.dynamodb, stack.resources.table_name).get("stripe", 0)
    assert cursor.exists and cursor.position == now
    assert len(alerts) == 1 and "stripe" in alerts[0][0] and all(i in alerts[0][1] for i in expected)

    # WHEN it runs again
    again = reconcile_all(context(stack, [stripe_source(base)], alerts), now + 300)

    # THEN the overlap lists them again, and they are already stored: nothing recovered, queued or alerted
    assert again.sources["stripe"].recovered == []
    assert set(again.sources["stripe"].already_stored) == expected
    assert queued_ids(stack) == [] and len(alerts) == 1
    assert f"created%5Bgte%5D={now - OVERLAP_SECONDS}" in state.requests[-1][0]


def test_a_delivered_event_is_already_stored_and_a_reconciled_one_makes_a_later_delivery_a_duplicate(
    stack: Any, client: Any, stub: Any
) -> None:
    base, state = stub
    now = int(time.time())
    # GIVEN one event that was delivered, and one that was not
    delivered = samples.stripe_event("payment_intent.succeeded")
    delivered["created"] = now - 30
    state.events.append(delivered)
    body, headers = samples.stripe_delivery(delivered)
    assert post(client, "stripe", body, headers).json_body["status"] == "accepted"
    missed = samples.stripe_event("payment_intent.succeeded")
    missed["created"] = now - 20
    state.events.append(missed)

    # WHEN the reconciler runs
    outcome = reconcile_all(context(stack, [stripe_source(base)]), now).sources["stripe"]

    # THEN only the missed one is recovered; the delivered one keeps its origin
    assert outcome.recovered == [webhook_id_for("stripe", missed["id"])]
    assert outcome.already_stored == [webhook_id_for("stripe", delivered["id"])]
    store = runtime.services().store
    assert (record := store.get(webhook_id_for("stripe", delivered["id"]))) is not None and record.origin == "delivery"
    # AND the late real delivery of the missed event is a duplicate of the reconciled record
    body, headers = samples.stripe_delivery(missed)
    answer = post(client, "stripe", body, headers).json_body
    assert answer == {"webhookId": webhook_id_for("stripe", missed["id"]), "status": "duplicate"}


def test_a_connect_account_source_lists_that_accounts_events(stack: Any, stub: Any) -> None:
    base, state = stub
    reconcile_all(context(stack, [stripe_source(base, account="acct_1Connected")]), int(time.time()))
    assert state.requests[0][1]["stripe-account"] == "acct_1Connected"


@pytest.mark.parametrize("fault", ["timeout", "429", "500", "repeat"])
def test_a_provider_fault_mid_listing_loses_nothing_and_stores_nothing_twice(
    stack: Any, stub: Any, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 25 missed events: three pages of 10 (the stub's page size), the second failing once
    base, state = stub
    now = int(time.time())
    events = [state.add("payment_intent.succeeded", now - 1000 + i) for i in range(25)]
    state.faults = [None, fault]
    cursors = CursorStore(stack.dynamodb, stack.resources.table_name)

    # WHEN the reconciler runs into it
    first = reconcile_all(context(stack, [stripe_source(base)]), now)

    # THEN the run ends for that source without crashing, logged and counted, the cursor not created
    outcome = first.sources["stripe"]
    assert first.failed == ["stripe"] and not outcome.complete and outcome.error
    assert not cursors.get("stripe", 0).exists
    assert "reconcile: listing stopped, cursor kept" in capsys.readouterr().out
    # AND what the first page held was stored (a "repeat" lists page one's events a second time: no-op)
    assert len(outcome.recovered) == 10 == len(set(outcome.recovered))

    # WHEN the next run finds the provider healthy
    second = reconcile_all(context(stack, [stripe_source(base)]), now + 60)

    # THEN every event is stored exactly once, and each was recovered by exactly one run
    expected = {webhook_id_for("stripe", e["id"]) for e in events}
    assert {item["pk"]["S"] for item in webhook_items(stack)} == expected
    recovered = first.sources["stripe"].recovered + second.sources["stripe"].recovered
    assert sorted(recovered) == sorted(expected)
    assert second.sources["stripe"].complete and cursors.get("stripe", 0).position == now + 60


def test_a_window_too_large_for_one_run_is_halved_and_worked_through(stack: Any, stub: Any) -> None:
    # GIVEN a backlog of 3 pages spread over the first run's lookback, and runs of one page each
    base, state = stub
    now = int(time.time())
    events = [state.add("payment_intent.succeeded", now - INITIAL_LOOKBACK_SECONDS + 100 * i) for i in range(30)]
    cursors = CursorStore(stack.dynamodb, stack.resources.table_name)

    # WHEN runs follow each other
    recovered: list[str] = []
    for run in range(20):
        result = reconcile_all(context(stack, [stripe_source(base)], max_pages=1), now + run)
        recovered += result.sources["stripe"].recovered
        if cursors.get("stripe", 0).position >= now:
            break

    # THEN the window shrank until one fitted, the cursor caught up, and nothing was stored twice
    assert sorted(recovered) == sorted(webhook_id_for("stripe", e["id"]) for e in events)
    cursor = cursors.get("stripe", 0)
    assert cursor.position >= now and cursor.window_seconds < 3600


def test_a_source_with_broken_credentials_or_no_events_api_does_not_stop_the_others(stack: Any, stub: Any) -> None:
    base, state = stub
    now = int(time.time())
    event = state.add("payment_intent.succeeded", now - 10)
    broken = SourceConfig(name="stripe-eu", provider="stripe", secrets=("whsec_x",), options={"api": {"key": ""}})
    adyen = SourceConfig(name="adyen", provider="adyen", secrets=("00",), options={"api": {"key": "k"}})
    plain = SourceConfig(name="square", provider="square", secrets=("k",))

    result = reconcile_all(context(stack, [broken, adyen, plain, stripe_source(base)]), now)

    assert result.failed == ["stripe-eu"]
    assert list(result.sources) == ["stripe"]
    assert result.sources["stripe"].recovered == [webhook_id_for("stripe", event["id"])]


def test_a_recovery_is_an_embedded_metric_named_by_source_and_keys_never_reach_the_logs(
    stack: Any, stub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, state = stub
    state.add("payment_intent.succeeded", int(time.time()) - 5)
    reconcile_all(context(stack, [stripe_source(base)]), int(time.time()))
    out = capsys.readouterr().out
    assert API_KEY not in out
    line = next(json.loads(text) for text in out.splitlines() if "recovered webhooks" in text)
    assert line["source"] == "stripe" and line["RecoveredWebhooks"] == 1
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "PaymentWebhooks/local" and directive["Dimensions"] == [["source"], []]


def test_the_scheduled_handler_runs_every_configured_source_with_credentials(
    stack: Any, client: Any, stub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the stage's sources secret gives the stripe source API credentials
    base, state = stub
    state.add("payment_intent.succeeded", int(time.time()) - 5, "evt_scheduled")
    secret = stack.resources.secret_id
    secrets = stack.session.client("secretsmanager")
    document = json.loads(secrets.get_secret_value(SecretId=secret)["SecretString"])
    document["sources"]["stripe"]["api"] = {"key": API_KEY, "baseUrl": base}
    secrets.put_secret_value(SecretId=secret, SecretString=json.dumps(document))
    runtime.reset()

    # WHEN the schedule fires
    from devstack.events import scheduled_event

    answer = client.lambda_.invoke("reconcile_missed_webhooks", scheduled_event("rule", "us-east-1")).payload

    # THEN it recovered the event, and the webhook ingests like any other
    assert answer["recovered"] == 1 and answer["failed"] == []
    assert runtime.services().store.get(webhook_id_for("stripe", "evt_scheduled")) is not None
