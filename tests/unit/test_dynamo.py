"""chalicelib.dynamo against in-process moto, and against a table that throttles some keys."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import dynamo

TABLE = "dynamo-helpers"


@pytest.fixture
def db() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_a_failed_condition_is_told_apart_and_returns_the_stored_item(db: Any) -> None:
    db.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as caught:
        db.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert dynamo.is_conditional_failure(caught.value)
    assert dynamo.conditional_failure_item(caught.value) == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_other_errors_are_not_conditional_failures(db: Any) -> None:
    with pytest.raises(ClientError) as caught:
        db.put_item(TableName="no-such-table", Item={"pk": {"S": "a"}})
    assert dynamo.error_code(caught.value) == "ResourceNotFoundException"
    assert not dynamo.is_conditional_failure(caught.value)
    assert dynamo.conditional_failure_item(caught.value) is None
    assert dynamo.error_code(ValueError("x")) == ""


def test_batch_get_reads_past_the_hundred_key_limit(db: Any) -> None:
    for n in range(250):
        db.put_item(TableName=TABLE, Item={"pk": {"S": f"k{n}"}})
    keys = [{"pk": {"S": f"k{n}"}} for n in range(260)]  # ten of them absent
    read = dynamo.batch_get(db, TABLE, keys)
    assert sorted(item["pk"]["S"] for item in read.items) == sorted(f"k{n}" for n in range(250))
    assert read.unprocessed == []


class Throttling:
    """A client that leaves the given keys unprocessed ``times`` times, then answers them."""

    def __init__(self, real: Any, throttled: set[str], times: int) -> None:
        self.real, self.throttled, self.times, self.calls = real, throttled, times, 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        (table, request), = RequestItems.items()
        held = [k for k in request["Keys"] if k["pk"]["S"] in self.throttled] if self.times > 0 else []
        self.times -= 1 if held else 0
        asked = [k for k in request["Keys"] if k not in held]
        response = self.real.batch_get_item(RequestItems={table: {**request, "Keys": asked}}) if asked else {}
        if held:
            response["UnprocessedKeys"] = {table: {"Keys": held}}
        return response


def test_unprocessed_keys_are_asked_for_again(db: Any) -> None:
    db.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})
    db.put_item(TableName=TABLE, Item={"pk": {"S": "b"}})
    client = Throttling(db, {"b"}, times=1)
    read = dynamo.batch_get(client, TABLE, [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}], backoff_seconds=0)
    assert sorted(item["pk"]["S"] for item in read.items) == ["a", "b"]
    assert read.unprocessed == [] and client.calls == 2


def test_keys_still_unprocessed_after_every_attempt_are_reported(db: Any) -> None:
    db.put_item(TableName=TABLE, Item={"pk": {"S": "a"}})
    client = Throttling(db, {"a"}, times=10)
    read = dynamo.batch_get(client, TABLE, [{"pk": {"S": "a"}}], attempts=3, backoff_seconds=0)
    assert read.items == [] and read.unprocessed == [{"pk": {"S": "a"}}] and client.calls == 3
