"""The ops CLI's surface: help everywhere, one clear line for every kind of wrong input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.state import REPOSITORY
from ops.cli import webhook_url
from ops.main import main
from ops.records import parse_time
from ops.stage import OpsError

COMMANDS = ["send", "show", "list", "replay", "redrive", "samples"]


@pytest.fixture(autouse=True)
def no_local_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_WEBHOOKS_LOCAL_DIR", str(tmp_path / "nothing-running"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_stage_and_json(capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    assert "--stage" in out and "--json" in out


@pytest.mark.parametrize(
    "args,fragment,expected_status",
    [
        (["send", "stripe", "payment_intent.succeeded"], "no local stack is running", 1),
        (["list"], "start it with `make run`", 1),
        (["redrive", "--dry-run"], "no local stack is running", 1),
        (["show", "wh_x", "--stage", "nowhere"], "unknown stage 'nowhere'", 1),
        (["send"], "Missing argument", 2),
        (["list", "--status", "weird"], "'weird' is not one of", 2),
        (["list", "--since", "yesterday-ish"], "cannot read the time", 1),
        (["replay"], "say what to replay", 1),
        (["replay", "wh_1", "--source", "stripe"], "not both", 1),
        (["send", "stripe", "x", "--currency", "dollars"], "ISO 4217", 1),
        (["samples", "venmo"], "unknown provider 'venmo'", 1),
        (["frobnicate"], "No such command", 2),
    ],
)
def test_wrong_input_is_one_line_on_stderr_and_a_non_zero_status(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str, expected_status: int
) -> None:
    # WHEN a command is given something it cannot work with
    status, out, err = run(capsys, *args)

    # THEN it says so in one line, without a traceback, and fails
    assert status == expected_status
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("ops: error: ") and fragment in err
    assert "Traceback" not in err


def test_samples_lists_the_catalog_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "samples", "adyen", "--json")
    assert status == 0
    assert "AUTHORISATION:refused" in json.loads(out)["adyen"]


def test_python_dash_m_ops_runs_from_the_repository_root(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ops", "send", "stripe", "payment_intent.succeeded"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PAYMENT_WEBHOOKS_LOCAL_DIR": str(tmp_path)},
    )
    assert completed.returncode == 1
    assert completed.stderr.startswith("ops: error: no local stack is running")
    assert completed.stdout == ""


@pytest.mark.parametrize(
    "base,expected",
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/webhook/stripe"),
        ("https://abc.execute-api.eu-west-1.amazonaws.com/api/", "https://abc.execute-api.eu-west-1.amazonaws.com/api/webhook/stripe"),
        ("https://hooks.example.com/api/webhook/stripe-eu", "https://hooks.example.com/api/webhook/stripe-eu"),
    ],
)
def test_send_url_is_a_base_or_the_full_webhook_url(base: str, expected: str) -> None:
    assert webhook_url(base, "stripe") == expected


def test_times_are_relative_or_iso() -> None:
    now = 1_700_000_000.0
    assert parse_time("2h", now) == "2023-11-14T20:13:20.000Z"
    assert parse_time("2024-05-01", now) == "2024-05-01T00:00:00.000Z"
    assert parse_time("2024-05-01T12:00:00+02:00", now) == "2024-05-01T10:00:00.000Z"
    with pytest.raises(OpsError):
        parse_time("soon", now)


def test_other_stages_take_their_names_from_the_chalice_config() -> None:
    from ops.stage import remote_target, stage_environment

    environment = stage_environment("prod")
    target = remote_target("prod")  # builds clients lazily: nothing here talks to AWS
    assert target.table_name == environment["WEBHOOK_TABLE_NAME"]
    assert target.sources_secret_id == environment["SOURCES_SECRET_ID"]
    assert target.app_url is None and not target.is_local


def test_send_to_another_stage_needs_a_url_before_any_aws_call(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "send", "stripe", "payment_intent.succeeded", "--stage", "dev")
    assert status == 1 and "--url is required for stage dev" in err


def test_bare_ops_prints_its_help_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN `python -m ops` is run without a command
    status, out, err = run(capsys)

    # THEN it shows what it can do, listing every command, and that is not an error
    assert status == 0 and err == ""
    assert out.startswith("Usage: python -m ops")
    assert all(f"  {command} " in out for command in [*COMMANDS, "payment", "lifecycle"])


def test_other_stages_use_the_apps_own_defaults_for_names_their_config_leaves_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.settings import Settings
    from ops import stage

    # GIVEN a stage whose config names nothing
    monkeypatch.setattr(stage, "stage_environment", lambda name: {})

    # WHEN ops works on it
    target = stage.remote_target("qa")

    # THEN it uses the names the deployed functions would fall back to (chalicelib.settings)
    defaults = Settings.from_environment({"STAGE": "qa"})
    assert (target.table_name, target.queue_name, target.sources_secret_id, target.queue_url) == (
        defaults.table_name, defaults.processing_queue_name, defaults.sources_secret_id, None)
    assert target.table_name == "payment-webhooks-qa"
