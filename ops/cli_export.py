"""``ops export``: one row per money movement (capture, refund, dispute debit and credit, fee), for finance.

Reads every payment record of the stage (a Scan: an operator's tool, never the request path) and
writes the movements (:mod:`chalicelib.payments.ledger`) whose provider time falls in
[--since, --until), as CSV or JSON on stdout. The rows are derived from each record's current
facts: a dispute won since an earlier export shows its debit and its credit back. A ``fee`` row
(the provider's fee on a capture: negative; a fee a refund gave back: positive, in the fee's own
currency) follows its movement, so finance sees gross, fee and net.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import click

from chalicelib.payments.keys import PAYMENT_ITEM_TYPE
from chalicelib.payments.ledger import COLUMNS, Movement, movements
from chalicelib.payments.record import PaymentRecord
from ops import records
from ops.cli import LOCAL
from ops.stage import OpsError, resolve


def payment_records(dynamodb: Any, table: str) -> Iterator[PaymentRecord]:
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "itemType = :type",
        "ExpressionAttributeValues": {":type": {"S": PAYMENT_ITEM_TYPE}},
    }
    while True:
        response = dynamodb.scan(**kwargs)
        for item in response.get("Items", []):
            yield PaymentRecord.from_item(item)
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def render(rows: list[Movement], output: str) -> str:
    documents = [row.to_json() for row in rows]
    if output == "json":
        return json.dumps(documents, indent=2)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(documents)
    return buffer.getvalue().rstrip("\n")


@click.command()
@click.option("--since", required=True, help="Movements at or after: 30m, 2h, 7d ago, or an ISO date/time (UTC).")
@click.option("--until", help="Movements before (default: now); same forms as --since.")
@click.option("--format", "output", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--stage", default=LOCAL, show_default=True, metavar="STAGE", help="As for every command.")
def export(since: str, until: str | None, output: str, stage: str) -> int:
    """Write one row per money movement between --since and --until (payment, source, account,
    currency, amount in minor units, time, webhook id); fees are rows of their own (negative).

    \b
    Examples:
      python -m ops export --since 2024-05-01 --until 2024-06-01 > may.csv
      python -m ops export --since 24h --format json
    """
    start = records.parse_time(since)
    end = records.parse_time(until) if until else records.parse_time("0m")
    if start > end:
        raise OpsError("--since is after --until")
    target = resolve(stage)
    rows = [row for record in payment_records(target.client("dynamodb"), target.table_name)
            for row in movements(record) if start <= row.time < end]
    # (stable: one payment's rows of one time keep the ledger's order, a debit before its credit)
    click.echo(render(sorted(rows, key=lambda r: (r.time, r.payment)), output))
    return 0


def register(group: click.Group) -> None:
    group.add_command(export)
