"""The local runner's parts: handler discovery, Lambda-like polling, console, secrets and state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from chalice import Chalice, Rate
from chalice.app import DynamoDBEventConfig, SQSEventConfig

from devstack import emulator, lambdas, logview, sources, state
from devstack.lambdas import Function, SqsPoller, StreamFollower, discover, failed_items, schedule_seconds

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803 (boto3's names)
        return {"QueueUrl": f"http://sqs/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"Attributes": {"QueueArn": QUEUE_ARN}}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> None:  # noqa: N803
        self.deleted.extend(entry["ReceiptHandle"] for entry in Entries)


def oddly_named_app() -> Chalice:
    app = Chalice(app_name="sample")

    @app.on_sqs_message(queue="orders", batch_size=5)
    def whatever_one(event: Any) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": r.to_dict()["messageId"]} for r in event
                                      if r.body == "bad"]}

    @app.on_dynamodb_record(stream_arn=STREAM_ARN)
    def something_else(event: Any) -> None:
        return None

    @app.schedule(Rate(2, unit=Rate.HOURS))
    def tick(event: Any) -> None:
        return None

    @app.on_s3_event(bucket="uploads")
    def on_upload(event: Any) -> None:
        return None

    return app


def context(name: str) -> None:
    return None


def test_handlers_are_matched_to_sources_by_what_they_declare_not_by_name() -> None:
    # GIVEN an app whose handlers have arbitrary names, and a source Lambda offers but we don't run
    app = oddly_named_app()

    # WHEN the runner discovers its event sources
    found = discover(app, clients=lambda service: FakeSqs(), region="us-east-1",
                     function_name=lambda name: f"sample-local-{name}", context_factory=context)

    # THEN each declared source gets the right kind of worker, and the rest is named as not emulated
    kinds = {worker.name: type(worker) for worker in found.workers}
    assert kinds == {"whatever_one": SqsPoller, "something_else": StreamFollower, "tick": lambdas.Scheduler}
    assert found.not_emulated == ["on_upload (S3EventConfig)"]
    [scheduler] = [w for w in found.workers if isinstance(w, lambdas.Scheduler)]
    assert scheduler.period_seconds == 7200


def test_the_real_app_declares_a_queue_a_stream_and_a_schedule() -> None:
    from app import app

    found = discover(app, clients=lambda service: FakeSqs(), region="us-east-1",
                     function_name=lambda name: name, context_factory=context)
    # One schedule (the reconciler), two stream readers (the audit and the outbox)
    workers = sorted(type(worker).__name__ for worker in found.workers)
    assert workers == ["Scheduler", "SqsPoller", "StreamFollower", "StreamFollower"]
    outbox = next(w for w in found.workers if w.name == "enqueue_new_webhooks")
    assert isinstance(outbox, StreamFollower) and outbox._start == "TRIM_HORIZON"
    assert found.not_emulated == []


def test_sqs_poller_deletes_only_what_succeeded() -> None:
    # GIVEN a batch of which the handler reports one message as failed
    app = oddly_named_app()
    sqs = FakeSqs()
    [poller] = [w for w in discover(app, lambda s: sqs, "us-east-1", lambda n: n, context).workers
                if isinstance(w, SqsPoller)]
    poller.prepare()
    messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body, "Attributes": {}}
                for i, body in enumerate(["ok", "bad", "ok"])]

    # WHEN it is handed over
    poller.handle(messages)

    # THEN the failed one stays on the queue (it comes back after the visibility timeout)
    assert sqs.deleted == ["r0", "r2"]


def test_sqs_poller_deletes_nothing_when_the_handler_crashes() -> None:
    sqs = FakeSqs()

    def crash(event: Any, ctx: Any) -> None:
        raise RuntimeError("boom")

    config = oddly_named_app().event_sources[0]
    assert isinstance(config, SQSEventConfig)
    poller = SqsPoller(Function("f", "f", crash, context), sqs, config)
    poller.prepare()
    poller.handle([{"MessageId": "m", "ReceiptHandle": "r", "Body": "x"}])
    assert sqs.deleted == []


@pytest.mark.parametrize(
    "result,expected",
    [(None, []), ({"batchItemFailures": []}, []), ({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a"]),
     ({"batchItemFailures": [{"itemIdentifier": ""}]}, None), ({"batchItemFailures": "x"}, None)],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(result: Any, expected: Any) -> None:
    assert failed_items(result) == expected


def stream_record(sequence: str) -> dict[str, Any]:
    return {"eventID": sequence, "eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence,
                                                                       "ApproximateCreationDateTime": 1.0}}


def test_stream_failure_is_retried_from_the_failed_record_then_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a handler that always fails record "2" of three
    monkeypatch.setattr(lambdas, "RETRY_PAUSE_SECONDS", 0)
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(sequences)
        assert all(r["eventSourceARN"] == STREAM_ARN for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": "2"}] if "2" in sequences else []}

    app = oddly_named_app()
    config = app.event_sources[1]
    assert isinstance(config, DynamoDBEventConfig)
    follower = StreamFollower(Function("f", "f", handler, context), object(), config)

    # WHEN a batch is delivered
    import threading

    follower.deliver([stream_record("1"), stream_record("2"), stream_record("3")], threading.Event())

    # THEN it is retried from "2" a few times, then "2" is skipped and "3" still gets delivered
    assert calls[0] == ["1", "2", "3"]
    assert calls[1:1 + lambdas.STREAM_RETRIES] == [["2", "3"]] * lambdas.STREAM_RETRIES
    assert calls[-1] == ["3"]


@pytest.mark.parametrize("expression,seconds", [(Rate(5, unit=Rate.MINUTES), 300), (Rate(1, unit=Rate.DAYS), 86400),
                                                ("rate(1 hour)", 3600), ("cron(0 12 * * ? *)", None)])
def test_schedule_periods(expression: Any, seconds: int | None) -> None:
    assert schedule_seconds(expression) == seconds


def test_console_renders_app_lines_and_drops_attempt_counting_audits() -> None:
    received = ('{"level":"INFO","message":"webhook received","timestamp":"2026-01-02T03:04:05.678Z",'
                '"source":"stripe","outcome":"accepted","webhookIds":["wh_1"]}')
    audit = ('{"level":"INFO","message":"audit","timestamp":"2026-01-02T03:04:06.000Z","audit":"webhook",'
             '"change":"MODIFY","webhookId":"wh_1","oldStatus":"received","newStatus":"processed","source":"stripe"}')
    counting = audit.replace('"newStatus":"processed"', '"newStatus":"received"')

    # -v: every line, every field but the CloudWatch ones, ISO times
    assert logview.render(received, verbose=True) == (
        "2026-01-02T03:04:05.678Z INFO  webhook received  source=stripe outcome=accepted webhookIds=wh_1"
    )
    assert logview.render(audit, verbose=True) == (
        "2026-01-02T03:04:06.000Z INFO  audit MODIFY wh_1 received -> processed  source=stripe"
    )
    assert logview.render(counting, verbose=True) is None
    assert logview.render("plain text") == "plain text"
    # The invocation's ids are for CloudWatch; the console line stays as short as before
    traced = received.replace('"source"', '"requestId":"r-1","coldStart":true,"xrayTraceId":"1-a-b","source"')
    assert logview.render(traced, verbose=True) == logview.render(received, verbose=True)


def test_by_default_the_console_shows_one_short_line_per_webhook_outcome() -> None:
    processed = ('{"level":"INFO","message":"webhook processed","timestamp":"2026-01-02T03:04:07.000Z",'
                 '"webhookId":"wh_1","source":"stripe","eventType":"charge.refunded","outcome":"processed",'
                 '"attempt":1,"eventId":"pe_1","paymentKey":"stripe:pi_1","paymentStatus":"refunded"}')
    applied = ('{"level":"INFO","message":"payment event applied","timestamp":"2026-01-02T03:04:07.000Z",'
               '"webhookId":"wh_1","paymentKey":"stripe:pi_1"}')
    audit = ('{"level":"INFO","message":"audit","timestamp":"2026-01-02T03:04:06.000Z","audit":"webhook",'
             '"change":"MODIFY","webhookId":"wh_1","oldStatus":"received","newStatus":"processed","source":"stripe"}')
    warning = ('{"level":"WARNING","message":"delivery alert","timestamp":"2026-01-02T03:04:08.000Z",'
               '"alert":"conflicting_delivery","source":"stripe","webhookId":"wh_1"}')
    # THEN the outcome in one short line, the chatter and the audit hidden, a warning in full
    assert logview.render(processed) == (
        "2026-01-02T03:04:07.000Z INFO  webhook processed  webhookId=wh_1 source=stripe eventType=charge.refunded "
        "outcome=processed paymentStatus=refunded"
    )
    assert logview.render(applied) is None and logview.render(audit) is None
    assert logview.render(warning) == (
        "2026-01-02T03:04:08.000Z WARNING delivery alert  alert=conflicting_delivery source=stripe webhookId=wh_1"
    )
    # AND -v comes from the command line or LOG_VERBOSE
    from devstack.startup import RunnerOptions

    assert RunnerOptions.from_environment({}, ["-v"]).verbose_logs
    assert RunnerOptions.from_environment({"LOG_VERBOSE": "1"}).verbose_logs
    assert not RunnerOptions.from_environment({}).verbose_logs


def test_readable_stream_writes_whole_lines(capsys: pytest.CaptureFixture[str]) -> None:
    stream = logview.ReadableStream(sys.stdout, verbose=True)
    stream.write('{"level":"INFO","message":"hel')
    stream.write('lo","timestamp":"2026-01-02T03:04:05Z"}\nnext\n')
    assert capsys.readouterr().out == "2026-01-02T03:04:05Z INFO  hello\nnext\n"


def test_local_secrets_come_from_the_environment_or_stay_stable(tmp_path: Any) -> None:
    # GIVEN one secret set in the environment and the others not
    paths = state.Paths(tmp_path)
    paths.ensure()
    environ = {"STRIPE_WEBHOOK_SECRET": "whsec_from_env"}

    # WHEN they are resolved twice (two runs)
    first = {s.spec.source: s for s in sources.resolve_secrets(paths, environ)}
    second = {s.spec.source: s for s in sources.resolve_secrets(paths, {})}

    # THEN the environment's value is used but never stored, and generated ones survive a restart
    assert first["stripe"].value == "whsec_from_env" and first["stripe"].from_environment
    stored = json.loads(paths.secrets.read_text())
    assert "whsec_from_env" not in json.dumps(stored)
    assert all(first[name].value == second[name].value for name in ("square", "paypal", "adyen", "standard"))
    assert oct(paths.secrets.stat().st_mode & 0o777) == "0o600"
    assert bytes.fromhex(first["adyen"].value) and first["standard"].value.startswith("whsec_")
    assert "whsec_from_env" not in first["stripe"].describe()


def test_square_notification_url_follows_the_port_unless_set() -> None:
    assert sources.square_notification_url({}, 8123) == "http://127.0.0.1:8123/webhook/square"
    assert sources.square_notification_url({"SQUARE_NOTIFICATION_URL": "https://x/y"}, 1) == "https://x/y"


def test_no_running_stack_is_one_clear_reason(tmp_path: Any) -> None:
    with pytest.raises(state.NoLocalStack, match="make run"):
        state.read_stack(state.Paths(tmp_path))


def test_a_held_lock_means_running_and_a_released_one_does_not(tmp_path: Any) -> None:
    paths = state.Paths(tmp_path)
    paths.ensure()
    lock = state.RunnerLock(paths)
    assert lock.acquire()
    try:
        assert state.lock_is_held(paths)
        assert not state.RunnerLock(paths).acquire()  # a second runner is refused
        with pytest.raises(state.NoLocalStack, match="starting"):
            state.read_stack(paths)
    finally:
        lock.release()
    assert not state.lock_is_held(paths)


def test_a_lock_held_by_a_killed_process_is_released(tmp_path: Any) -> None:
    # GIVEN a runner that took the lock and was killed outright (kill -9)
    paths = state.Paths(tmp_path)
    paths.ensure()
    code = (f"import sys, time; sys.path.insert(0, {str(state.REPOSITORY)!r}); "
            "from devstack.state import Paths, RunnerLock; "
            f"lock = RunnerLock(Paths(__import__('pathlib').Path({str(tmp_path)!r}))); lock.acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    assert state.lock_is_held(paths)
    child.kill()
    child.wait()

    # THEN the next runner can start
    assert not state.lock_is_held(paths)


def test_a_stale_pid_that_is_not_moto_is_left_alone(tmp_path: Any) -> None:
    paths = state.Paths(tmp_path)
    paths.ensure()
    paths.moto_pid.write_text(str(os.getpid()))  # this pytest process: alive, but no moto server

    assert emulator.stop_leftover(paths) is None
    assert not paths.moto_pid.exists()


def test_environment_script_quotes_values() -> None:
    from devstack.startup import env_script

    script = env_script({"A": "it's", "B": "x y"})
    completed = subprocess.run(["sh", "-c", script + 'printf "%s|%s" "$A" "$B"'], capture_output=True, text=True)
    assert completed.stdout == "it's|x y"


def test_the_scheduler_sends_an_eventbridge_scheduled_event() -> None:
    # GIVEN a scheduled handler
    received: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], ctx: Any) -> None:
        received.append(event)

    scheduler = lambdas.Scheduler(Function("tick", "sample-local-tick", handler, context), 60, "sample-local-tick",
                                  "eu-west-1")

    # WHEN its rate comes round
    scheduler.fire()

    # THEN it gets what EventBridge sends a scheduled rule's target
    [event] = received
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/sample-local-tick"]
    assert event["region"] == "eu-west-1" and event["detail"] == {}


def test_the_banner_hints_name_commands_that_run_from_a_fresh_terminal(tmp_path: Any) -> None:
    from devstack.startup import banner_hints

    # GIVEN the default state directory, the banner read in the repository root
    paths = state.Paths(state.REPOSITORY / ".local")
    chalice_line, ops_line = banner_hints(paths, 8000, cwd=state.REPOSITORY, environ={})

    # THEN the tools are named by their path in this environment, not as bare `chalice`/`python`
    scripts = os.path.relpath(os.path.dirname(sys.executable), state.REPOSITORY)
    assert chalice_line == (f"  chalice local: source .local/env.sh && {scripts}/chalice local --stage local "
                            "--port 8001")
    assert ops_line == f"  try: {scripts}/python -m ops send stripe payment_intent.succeeded"
    # AND what they name exists and runs: the chalice executable, and the ops command as printed
    assert os.access(state.REPOSITORY / scripts / "chalice", os.X_OK)
    command = ops_line.split("try: ", 1)[1].split() + ["--help"]
    ran = subprocess.run(command, cwd=state.REPOSITORY, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "Send a realistic" in ran.stdout, ran.stderr


def test_the_banner_hints_carry_a_state_directory_and_the_way_back_to_the_repository(tmp_path: Any) -> None:
    from devstack.startup import banner_hints

    # GIVEN a stack with its own state directory, started from another directory
    paths = state.Paths(tmp_path / "state")
    chalice_line, ops_line = banner_hints(paths, 9000, cwd=tmp_path, environ={state.LOCAL_DIR_VARIABLE: "x"})

    # THEN both commands first go to the repository, and ops is told where the stack's state is
    repository = str(state.REPOSITORY)
    assert chalice_line.startswith(f"  chalice local: cd '{repository}' && source {paths.env_script} && ")
    assert chalice_line.endswith("local --stage local --port 9001")
    assert ops_line.startswith(f"  try: cd '{repository}' && {state.LOCAL_DIR_VARIABLE}='{paths.root}' ")


class LockedEvent:
    """Stands for the workers' stop Event at the moment the main thread holds its lock."""

    def set(self) -> None:
        raise AssertionError("a signal handler took the Event's lock: a deadlock when it is already held")

    def is_set(self) -> bool:
        raise AssertionError("a signal handler read the Event")

    def wait(self, timeout: float | None = None) -> bool:
        raise AssertionError("a signal handler waited")


def test_the_signal_handler_only_sets_a_flag(tmp_path: Any) -> None:
    import signal

    from devstack.runner import Interrupted, Runner
    from devstack.startup import RunnerOptions

    # GIVEN a runner whose stop Event must not be touched from a signal handler
    runner = Runner(state.Paths(tmp_path), RunnerOptions(port=1, moto_port=None, visibility_timeout=1, raw_logs=False),
                    out=None)
    runner.stop = LockedEvent()  # type: ignore[assignment]  # a stand-in that fails if the handler touches it

    # WHEN signals arrive while it starts: the first interrupts the start, the next ones only mark it
    with pytest.raises(Interrupted):
        runner._on_signal(signal.SIGINT, None)
    runner._on_signal(signal.SIGTERM, None)

    # AND once it runs, any number of them only mark it
    runner.ready = True
    for _ in range(3):
        runner._on_signal(signal.SIGTERM, None)
    assert runner.signalled


# --- LOCAL_SOURCES_FILE: extra and broken sources for the local stack ---------------------------


def test_local_sources_file_is_merged_over_the_defaults(tmp_path: Any) -> None:
    # GIVEN a file in the sources-secret format with a new source, a replaced one and a broken one
    (tmp_path / "extra.json").write_text(json.dumps({"sources": {
        "stripe-eu": {"provider": "stripe", "secrets": ["whsec_eu"]},
        "adyen": {"secrets": ["not-hex"]},
        "broken": {"provider": "nope"},
    }}))
    defaults = {"stripe": {"secrets": ["whsec_default"]}, "adyen": {"secrets": ["AB"]}}

    # WHEN it is read by a relative path and merged
    extra = sources.local_sources({sources.LOCAL_SOURCES_VARIABLE: "extra.json"}, cwd=tmp_path)
    merged = sources.merge_sources(defaults, extra)

    # THEN new names are added, a same-named entry replaces the default whole, broken ones pass through
    assert merged == {
        "stripe": {"secrets": ["whsec_default"]},
        "adyen": {"secrets": ["not-hex"]},
        "stripe-eu": {"provider": "stripe", "secrets": ["whsec_eu"]},
        "broken": {"provider": "nope"},
    }
    assert sources.local_sources({}) == {} and sources.local_sources({sources.LOCAL_SOURCES_VARIABLE: " "}) == {}


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("{not json", "is not UTF-8 JSON"),
     ('{"stripe": {}}', 'must be an object with a "sources"'),
     ('{"sources": []}', 'must be an object with a "sources"'), ("[]", 'must be an object with a "sources"')],
)
def test_an_unusable_local_sources_file_is_one_clear_line(tmp_path: Any, content: str | None, problem: str) -> None:
    path = tmp_path / "sources.json"
    if content is not None:
        path.write_text(content + ' "whsec_never_printed"')
        if content != "{not json":
            path.write_text(content)
    with pytest.raises(sources.LocalSourcesError) as raised:
        sources.local_sources({sources.LOCAL_SOURCES_VARIABLE: str(path)})
    message = str(raised.value)
    assert problem in message and "\n" not in message and "whsec_never_printed" not in message


def test_local_sources_reach_the_app_over_its_route(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the local stage's sources with LOCAL_SOURCES_FILE adding stripe-eu and a broken adyen-bad,
    # loaded into the emulator as the runner does
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack
    from providers_tooling import stripe
    from tests import samples

    (tmp_path / "extra.json").write_text(json.dumps({"sources": {
        "stripe-eu": {"provider": "stripe", "secrets": ["whsec_eu_local"]},
        "adyen-bad": {"provider": "adyen", "secrets": ["not-hex"]},
    }}))
    document = sources.merge_sources(samples.SOURCES, sources.local_sources(
        {sources.LOCAL_SOURCES_VARIABLE: str(tmp_path / "extra.json")}))
    monkeypatch.setenv("STAGE", "local")
    with mock_aws():
        resources = ensure_stack(boto3.session.Session(), Settings.from_environment(), document)
        for name, value in resources.environment().items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        try:
            with Client(app, stage_name="local") as client:
                body = json.dumps(samples.stripe_event()).encode()
                # WHEN each is posted to
                eu = client.http.post("/webhook/stripe-eu", body=body,
                                      headers=stripe.signed_headers(body, "whsec_eu_local", samples.now()))
                bad = client.http.post("/webhook/adyen-bad", body=b"{}", headers={"Content-Type": "application/json"})
        finally:
            runtime.reset()
    # THEN the extra source accepts its own signer's event and the broken one answers 503
    assert eu.status_code == 200
    assert bad.status_code == 503 and bad.headers["Retry-After"].isdigit()
