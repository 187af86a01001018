"""Run the app's non-HTTP handlers the way Lambda's event sources would, against the emulator.

`chalice local` serves only routes. Here every event source the app *declares* is matched to its
handler through Chalice's own registry (``app.event_sources`` and ``app.handler_map``), never by
function name, so a renamed or added handler is picked up as it would be on deploy:

- ``@app.on_sqs_message``: long-polls the queue and hands over up to ``batch_size`` messages as an
  SQS event. Like Lambda with ``ReportBatchItemFailures`` it deletes only what succeeded; the rest
  reappears after the visibility timeout, and the queue's redrive policy dead-letters it.
- ``@app.on_dynamodb_record``: follows the table's stream from its declared starting position and
  hands over records as Lambda does (epoch ``ApproximateCreationDateTime``, ``eventSourceARN``). A
  reported failure is retried from that record, a few times, then skipped with a log line (in AWS the
  stream's bisect and on-failure destination do that job).
- ``@app.schedule``: invokes the handler on its rate, first one period after start.

Sources Lambda offers but this app does not use (S3, SNS, Kinesis, event patterns, cron) are named
at start as not emulated rather than silently ignored.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chalice.app import Chalice, DynamoDBEventConfig, Rate, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from chalicelib import log
from devstack.callcount import FUNCTION
from devstack.events import scheduled_event, sqs_event, stream_event

SQS_WAIT_SECONDS = 1
SQS_MAX_BATCH = 10
STREAM_IDLE_SECONDS = 0.25
STREAM_RETRIES = 3
RETRY_PAUSE_SECONDS = 1.0
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

Handler = Callable[[dict[str, Any], Any], Any]
ContextFactory = Callable[[str], Any]


class Worker(Protocol):
    name: str

    def prepare(self) -> None:
        """Everything that must happen before the stack says it is ready (e.g. a stream position)."""

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set."""

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Function:
    """A handler as Lambda would run it: its name, the callable, and a context for each call."""

    name: str
    deployed_name: str
    handler: Handler
    context_factory: ContextFactory

    def invoke(self, event: dict[str, Any]) -> tuple[bool, Any]:
        """Call the handler; (False, None) when it raised, as a failed Lambda invocation."""
        running = FUNCTION.set(self.name)  # AWS calls made now are this function's (callcount)
        try:
            return True, self.handler(event, self.context_factory(self.deployed_name))
        except Exception as exc:  # the function "crashed": report it like Lambda, in one line
            log.error("local invocation failed", function=self.name, errorType=log.error_type(exc))
            return False, None
        finally:
            FUNCTION.reset(running)


def failed_items(result: Any) -> list[str] | None:
    """The ``batchItemFailures`` identifiers of a partial batch response; None means all failed."""
    if result is None:
        return []
    if not isinstance(result, Mapping):
        return []
    failures = result.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return None
    identifiers = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or not identifier:
            return None  # Lambda treats a malformed response as a failure of the whole batch
        identifiers.append(identifier)
    return identifiers


class SqsPoller:
    def __init__(self, function: Function, sqs: Any, config: SQSEventConfig) -> None:
        self.name = function.name
        self._function = function
        self._sqs = sqs
        self._config = config
        self._batch_size = max(1, min(config.batch_size, SQS_MAX_BATCH))
        self.queue_url = ""
        self.queue_arn = config.queue_arn or ""

    def prepare(self) -> None:
        queue_name = self._config.queue or self.queue_arn.rsplit(":", 1)[-1]
        self.queue_url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        if not self.queue_arn:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self.queue_arn = attributes["Attributes"]["QueueArn"]

    def describe(self) -> str:
        return f"{self.name}: SQS {self.queue_arn.rsplit(':', 1)[-1]} (batch {self._batch_size})"

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=SQS_WAIT_SECONDS,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    self.handle(messages)
            except Exception as exc:  # a hiccup of the emulator: retry shortly
                # Pause first, then log only if still running: when the emulator has died the
                # runner stops every worker within the pause and says so itself, in one line.
                if not stop.wait(RETRY_PAUSE_SECONDS):
                    log.warning("queue poll failed", function=self.name, errorType=log.error_type(exc))

    def handle(self, messages: Sequence[Mapping[str, Any]]) -> None:
        ok, result = self._function.invoke(sqs_event(messages, self.queue_arn))
        failed = failed_items(result) if ok else None
        done = [m for m in messages if failed is not None and m["MessageId"] not in failed]
        if not done:
            return
        # What failed is left alone: it becomes visible again after the visibility timeout.
        self._sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
        )


class StreamFollower:
    def __init__(self, function: Function, streams: Any, config: DynamoDBEventConfig) -> None:
        self.name = function.name
        self._function = function
        self._streams = streams
        self._arn = config.stream_arn
        self._batch_size = max(1, config.batch_size)
        self._start = config.starting_position or "LATEST"
        self._iterators: dict[str, str] = {}
        self._seen_shards: set[str] = set()

    def describe(self) -> str:
        return f"{self.name}: DynamoDB stream of {self._arn.split('/')[1]} (batch {self._batch_size})"

    def prepare(self) -> None:
        self._discover_shards(self._start)

    def _discover_shards(self, position: str) -> None:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._seen_shards:
                continue
            self._seen_shards.add(shard_id)
            if "EndingSequenceNumber" in shard.get("SequenceNumberRange", {}) and position == "LATEST":
                continue  # a closed shard holds nothing newer than LATEST
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self._arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            delivered = False
            try:
                for shard_id, iterator in list(self._iterators.items()):
                    response = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
                    records = response.get("Records", [])
                    if records:
                        delivered = True
                        self.deliver(records, stop)
                    following = response.get("NextShardIterator")
                    if following:
                        self._iterators[shard_id] = following
                    else:  # the shard closed: its children start where it ended
                        del self._iterators[shard_id]
                        self._discover_shards("TRIM_HORIZON")
            except Exception as exc:  # a hiccup of the emulator: retry shortly (logged as above)
                if not stop.wait(RETRY_PAUSE_SECONDS):
                    log.warning("stream read failed", function=self.name, errorType=log.error_type(exc))
                continue
            if not delivered:
                stop.wait(STREAM_IDLE_SECONDS)

    def deliver(self, records: Sequence[Mapping[str, Any]], stop: threading.Event) -> None:
        pending = list(records)
        retries = 0
        while pending and not stop.is_set():
            ok, result = self._function.invoke(stream_event(pending, self._arn))
            failed = failed_items(result) if ok else None
            if failed == []:
                return
            sequence_numbers = [r["dynamodb"].get("SequenceNumber") for r in pending]
            first = 0
            if failed is not None:
                positions = [sequence_numbers.index(s) for s in failed if s in sequence_numbers]
                first = min(positions) if positions else 0
            pending = pending[first:]
            retries += 1
            if retries > STREAM_RETRIES:
                log.error(
                    "stream record skipped after retries",
                    function=self.name,
                    sequenceNumber=sequence_numbers[first],
                    retries=STREAM_RETRIES,
                )
                pending, retries = pending[1:], 0
                continue
            stop.wait(RETRY_PAUSE_SECONDS)


def schedule_seconds(expression: Any) -> int | None:
    """The period of a ``rate(...)`` schedule in seconds; None for cron (not emulated)."""
    if isinstance(expression, Rate):
        unit = expression.unit.lower().rstrip("s")
        return int(expression.value) * _UNIT_SECONDS[unit]
    text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
    match = _RATE.fullmatch(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class Scheduler:
    def __init__(self, function: Function, period_seconds: int, rule_name: str, region: str) -> None:
        self.name = function.name
        self._function = function
        self.period_seconds = period_seconds
        self._rule_name = rule_name
        self._region = region

    def describe(self) -> str:
        return f"{self.name}: every {self.period_seconds} s"

    def prepare(self) -> None:
        return None

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.period_seconds):
            self.fire()

    def fire(self) -> None:
        self._function.invoke(scheduled_event(self._rule_name, self._region))


@dataclass(frozen=True)
class Discovery:
    workers: list[Worker]
    not_emulated: list[str]


def discover(
    app: Chalice,
    clients: Callable[[str], Any],
    region: str,
    function_name: Callable[[str], str],
    context_factory: ContextFactory | None = None,
) -> Discovery:
    """A worker for each event source the app declares; ``clients(service)`` gives boto3 clients.

    ``function_name(handler name)`` is the deployed function's name (``<app>-<stage>-<handler>``).
    """
    make_context = context_factory or default_context
    workers: list[Worker] = []
    not_emulated: list[str] = []
    for source in app.event_sources:
        handler = app.handler_map.get(source.name)
        if handler is None:
            not_emulated.append(f"{source.name} (no handler registered)")
            continue
        function = Function(source.name, function_name(source.name), handler, make_context)
        if isinstance(source, SQSEventConfig):
            workers.append(SqsPoller(function, clients("sqs"), source))
        elif isinstance(source, DynamoDBEventConfig):
            workers.append(StreamFollower(function, clients("dynamodbstreams"), source))
        elif isinstance(source, ScheduledEventConfig):
            period = schedule_seconds(source.schedule_expression)
            if period is None:
                not_emulated.append(f"{source.name} (cron schedule)")
                continue
            workers.append(Scheduler(function, period, function_name(source.name), region))
        else:
            not_emulated.append(f"{source.name} ({type(source).__name__})")
    return Discovery(workers, not_emulated)


def default_context(name: str) -> Any:
    return LambdaContext(function_name=name, memory_size=512, max_runtime_ms=30_000)
