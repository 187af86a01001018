"""Build Lambda event payloads exactly as the AWS event-source pollers deliver them.

Used by the local runner (`make run`) and by the tests, so both exercise the handlers with the
shapes Lambda really sends: SQS records with ``messageId`` and string attributes, and DynamoDB
Streams records with an epoch ``ApproximateCreationDateTime`` and the stream's ARN, and
EventBridge "Scheduled Event"s with the rule's ARN.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

LOCAL_ACCOUNT = "123456789012"


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event from messages as ``ReceiveMessage`` returned them (with ``AttributeNames=All``)."""
    region = queue_arn.split(":")[3]
    records = []
    for message in messages:
        body = message["Body"]
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": body,
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": dict(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def stream_event(records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams event from records as ``GetRecords`` returned them through boto3."""
    region = stream_arn.split(":")[3]
    converted = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        if "ApproximateCreationDateTime" in dynamodb:
            # boto3 parses it into a datetime; Lambda delivers epoch seconds.
            dynamodb["ApproximateCreationDateTime"] = _epoch(dynamodb["ApproximateCreationDateTime"])
        item = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion", region),
            "dynamodb": dynamodb,
            "eventSourceARN": stream_arn,
        }
        if "userIdentity" in record:
            item["userIdentity"] = record["userIdentity"]
        converted.append(item)
    return {"Records": converted}


def scheduled_event(rule_name: str, region: str, at: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's target (``"version"`` is a string there)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }
