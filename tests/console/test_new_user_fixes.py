"""Fixes from trying the tools as a new user: replay's dry run and real run say the same thing,
redrive says what it did, a failing webhook is called failing, --event-id that cannot apply warns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from ops import cli_records, cli_send
from ops.main import main
from ops.stage import StageTarget
from tests.console.test_console_app import failing_record, target  # noqa: F401 (a fixture)
from tests.functional.helpers import process_queue


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def put(stack: Any, webhook_id: str, status: str) -> None:
    record = WebhookRecord(webhook_id=webhook_id, source="stripe", provider="stripe", event_id=f"evt_{webhook_id}",
                           event_type="payment_intent.succeeded", payload="{}", received_at="2024-05-01T12:00:00.000Z",
                           status=status, attempts=1, expires_at=2_000_000_000)
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=record.to_item())


def test_replay_and_its_dry_run_use_the_same_words_and_counts(
    stack: Any, target: StageTarget, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    monkeypatch.setattr(cli_records, "resolve", lambda stage: target)
    put(stack, "wh_a", WebhookStatus.PROCESSED)
    put(stack, "wh_b", WebhookStatus.FAILED)
    _, dry, _ = run(capsys, "replay", "wh_a", "wh_b", "--dry-run")
    _, real, _ = run(capsys, "replay", "wh_a", "wh_b")
    assert dry.splitlines()[0] == "would queue 2 webhook(s) for processing (2 would be reopened first)"
    assert real.splitlines()[0] == "queued 2 webhook(s) for processing (2 reopened)"


def test_redrive_says_what_it_did_to_each_record(
    client: Any, stack: Any, target: StageTarget, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli_records, "resolve", lambda stage: target)
    webhook_id = failing_record(stack)
    process_queue(client, stack)
    _, dry, _ = run(capsys, "redrive", "--dry-run")
    _, real, _ = run(capsys, "redrive")
    assert f"  {webhook_id} (record failed: would be reopened)" in dry.splitlines()
    assert real.splitlines() == [
        "moved 1 message(s) from the dead-letter queue to the processing queue",
        f"  {webhook_id} (record was failed: reopened)",
    ]


class FakeAnswer:
    status = 200
    outcome = "accepted"
    webhook_ids = ["wh_failing"]


def test_send_calls_a_failing_webhook_failing_and_warns_about_an_event_id_it_cannot_use(
    stack: Any, target: StageTarget, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    # GIVEN a stage whose processing keeps failing on what is sent (the record says so)
    failing = WebhookRecord("wh_failing", "adyen", "adyen", "e", "AUTHORISATION", "{}", "2024-01-01T00:00:00.000Z",
                            "received", attempts=3, last_error="the payment event could not be published")
    target.app_url = "http://127.0.0.1:9"
    monkeypatch.setattr(cli_send, "resolve", lambda stage: target)
    # (signing and the HTTP round trip are not what this is about: the record read back is)
    monkeypatch.setattr(cli_send, "signing_material", lambda target, source: ("adyen", None))
    monkeypatch.setattr(cli_send.deliveries, "sign", lambda built, material: built)
    monkeypatch.setattr(cli_send.deliveries, "post", lambda url, signed: FakeAnswer())
    monkeypatch.setattr(cli_send, "wait_until_final", lambda store, ids, timeout: [failing])

    status, out, err = run(capsys, "send", "adyen", "AUTHORISATION", "--event-id", "evt_mine")
    assert status == 1
    assert "failing, 3 attempt(s) so far, last error: the payment event could not be published" in out
    assert "is `make run` running?" not in out
    assert "--event-id is ignored" in err and json.dumps("evt_mine") not in out


def test_show_prints_the_attempts_and_headers_as_lines_not_reprs() -> None:
    from ops.output import record_text

    record = WebhookRecord("wh_1", "stripe", "stripe", "evt", "t", "{}", "2024-01-01T00:00:00.000Z",
                           WebhookStatus.FAILED,
                           attempts=1, last_error="boom", headers={"user-agent": "Stripe/1.0"}, answer="200 accepted",
                           attempt_log=({"at": "2024-01-01T00:00:01.000Z", "outcome": "failed", "error": "boom"},))
    lines = record_text(record, payload=False).splitlines()
    assert "attempt     2024-01-01T00:00:01.000Z failed: boom" in lines
    assert "header      user-agent: Stripe/1.0" in lines
    assert not any("{" in line for line in lines)
