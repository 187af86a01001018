"""Fees on moto (issue #13): real PayPal payloads through the payment store, then ``ops payment
--json`` shows fee, net, references and reason, and ``ops export`` lists gross, fee and net rows."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.payments.store import PaymentStore
from chalicelib.providers import get_provider
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from ops.main import main
from ops.stage import StageTarget

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "paypal"
ORDER = "paypal:4K5112848U951142F"


def stored(name: str, number: int, change: Any = None) -> WebhookRecord:
    entry = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    payload = copy.deepcopy(entry["payload"])
    if change is not None:
        change(payload)
    return WebhookRecord(
        webhook_id=f"wh_fees{number:021d}", source="paypal", provider="paypal", event_id=payload["id"],
        event_type=entry["eventType"], payload=json.dumps(payload), received_at="2024-02-15T12:00:05.000Z",
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )


def refund_of_this_capture(payload: dict[str, Any]) -> None:
    """PayPal's documented refund sample, refunding the capture of the other sample, denied."""
    resource = payload["resource"]
    resource["links"][1]["href"] = "https://api.paypal.com/v2/payments/captures/5VK462069F664902F"
    resource["update_time"] = resource["create_time"] = "2021-10-18T10:00:00Z"
    del resource["seller_payable_breakdown"]["total_refunded_amount"]
    resource["invoice_id"] = "INV-2021-0042"


def test_ops_payment_and_export_show_gross_fee_and_net(stack, target: StageTarget,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN PayPal's capture (10.00, fee 0.84) and a 0.99 refund of it (fee 0.02 given back)
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    for webhook in (stored("rootprojects-readme-capture-completed-with-breakdown.json", 1),
                    stored("docs-sample-capture-refunded-with-breakdown.json", 2, refund_of_this_capture)):
        event = get_provider("paypal").normalize(webhook)
        assert event is not None
        store.apply(event, now=time.time())

    # WHEN the operator looks at the payment
    assert main(["payment", ORDER, "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    # THEN fee and net are under amounts, with the references the two events carried
    assert view["amounts"] == {"authorized": 1000, "captured": 1000, "refunded": 99, "disputed": 0,
                               "fee": 82, "net": 819}
    assert view["feeCurrency"] == "USD"
    assert view["references"] == {"customId": "{my-local-db-purchase-id}", "invoiceId": "INV-2021-0042"}
    assert view["lastReason"] is None
    assert main(["payment", ORDER]) == 0
    text = capsys.readouterr().out
    assert "fee      capture:5VK462069F664902F fee 0.84 net 9.16 USD" in text
    assert "refs     customId {my-local-db-purchase-id}, invoiceId INV-2021-0042" in text

    # AND the export has the gross movements and a fee row each, summing to the net
    assert main(["export", "--since", "2021-10-01", "--until", "2021-11-01", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["movement"], r["direction"], r["amount"], r["reference"], r["webhookId"]) for r in rows] == [
        ("capture", "in", 1000, "5VK462069F664902F", f"wh_fees{1:021d}"),
        ("fee", "out", -84, "5VK462069F664902F", f"wh_fees{1:021d}"),
        ("refund", "out", 99, "1Y107995YT783435V", f"wh_fees{2:021d}"),
        ("fee", "in", 2, "1Y107995YT783435V", f"wh_fees{2:021d}"),
    ]
    signed = {"in": 1, "out": -1}
    assert sum(abs(r["amount"]) * signed[r["direction"]] for r in rows) == 1000 - 84 - 99 + 2
