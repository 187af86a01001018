"""``ops export``: the money movements of the stored payments, on moto, exactly as they were sent."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from chalicelib.payments.ledger import movements
from chalicelib.payments.store import PaymentStore
from chalicelib.providers import get_provider
from ops.cli_export import payment_records, render
from tests.unit.payments import payloads as p


def adyen(code: str, number: int, psp: str, value: int, at: str) -> Any:
    item = p.adyen_item(code, psp_reference=psp, value=value,
                        original_reference=None if code == "AUTHORISATION" else p.ADYEN_PAYMENT,
                        event_date=f"2024-02-15T{at}+01:00")
    return p.adyen_record(item, webhook_id=f"wh_adyen{number:021d}")


def test_the_export_lists_exactly_the_money_movements_sent(stack) -> None:
    # GIVEN B7's sequence stored through the payment store: authorise 19.99, capture 10.00 + 9.99,
    # a capture that failed, then a 9.99 refund and a lost chargeback of 5.00
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    for webhook in (
        adyen("AUTHORISATION", 1, p.ADYEN_PAYMENT, 1999, "13:00:00"),
        adyen("CAPTURE", 2, "ZC4R4RBFJGXXGN01", 1000, "13:05:00"),
        adyen("CAPTURE", 3, "ZC4R4RBFJGXXGN02", 999, "13:06:00"),
        adyen("CAPTURE", 4, "ZC4R4RBFJGXXGN09", 500, "13:07:00"),
        adyen("CAPTURE_FAILED", 5, "ZC4R4RBFJGXXGN09", 500, "13:08:00"),
        adyen("REFUND", 6, "ZC4R4RBFJGXXGN03", 999, "15:00:00"),
        adyen("CHARGEBACK", 7, "ZC4R4RBFJGXXGN07", 500, "18:00:00"),
    ):
        event = get_provider("adyen").normalize(webhook)
        assert event is not None
        store.apply(event, now=time.time())

    # WHEN the stored payments are exported
    rows = [row for record in payment_records(stack.dynamodb, stack.resources.table_name)
            for row in movements(record)]

    # THEN there is one row per movement, nothing for the authorisation, and the capture that
    # failed after it was reported is booked, then reversed when it failed
    assert [(r.movement, r.direction, r.amount, r.reference, r.webhook_id) for r in rows] == [
        ("capture", "in", 1000, "ZC4R4RBFJGXXGN01", f"wh_adyen{2:021d}"),
        ("capture", "in", 999, "ZC4R4RBFJGXXGN02", f"wh_adyen{3:021d}"),
        ("capture", "in", 500, "ZC4R4RBFJGXXGN09", f"wh_adyen{4:021d}"),
        ("capture_reversal", "out", 500, "ZC4R4RBFJGXXGN09", f"wh_adyen{5:021d}"),
        ("refund", "out", 999, "ZC4R4RBFJGXXGN03", f"wh_adyen{6:021d}"),
        ("dispute_debit", "out", 500, "ZC4R4RBFJGXXGN07", f"wh_adyen{7:021d}"),
    ]
    assert {(r.payment, r.source, r.account, r.currency) for r in rows} == {
        (f"adyen:{p.ADYEN_PAYMENT}", "adyen", "YOUR_MERCHANT_ACCOUNT", "EUR")}
    # AND the CSV and JSON forms carry the same rows
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [row["amount"] for row in table] == ["1000", "999", "500", "500", "999", "500"]
    assert table[0]["time"] == "2024-02-15T12:05:00.000Z" and table[0]["webhookId"] == f"wh_adyen{2:021d}"
    assert json.loads(render(rows, "json")) == [r.to_json() for r in rows]
