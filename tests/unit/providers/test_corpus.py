"""Every payload of the corpus (tests/fixtures/providers/, see its README) through its provider's
normalizer, as the processor runs it: each file states the outcome it must have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
FILES = sorted(CORPUS.glob("*/*.json"))
ORIGIN_KEYS = {"repository", "path"}
EVENT_FIELDS = {  # corpus name -> PaymentEvent attribute
    "kind": "kind", "status": "status", "paymentId": "provider_payment_id", "currency": "currency",
    "amount": "amount", "refundId": "refund_id", "refundAmount": "refund_amount",
    "refundedTotal": "refunded_total", "disputeId": "dispute_id",
    # the ledger details (issue #13): a fee, net and reason only where the payload states them
    "fee": "fee", "net": "net", "feeCurrency": "fee_currency", "settlementAmount": "settlement_amount",
    "settlementCurrency": "settlement_currency", "exchangeRate": "exchange_rate", "reason": "reason",
}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def stored(entry: dict[str, Any]) -> WebhookRecord:
    """The record the receiver would have written: the payload's JSON text, as the provider's
    verify returns it (one notification item for Adyen, one event for GoCardless)."""
    return WebhookRecord(
        webhook_id="wh_corpus0000000000000000001", source=entry["provider"], provider=entry["provider"],
        event_id="corpus", event_type=entry["eventType"], payload=json.dumps(entry["payload"]),
        received_at="2024-02-15T12:00:05.000Z", status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )


def test_the_corpus_has_at_least_80_payloads_from_every_provider_with_a_normalizer() -> None:
    assert len(FILES) >= 80
    assert {path.parent.name for path in FILES} >= {"adyen", "stripe", "square", "paypal", "gocardless", "razorpay"}


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_each_payload_has_its_recorded_outcome(path: Path) -> None:
    entry = load(path)
    assert entry["provider"] == path.parent.name
    assert ORIGIN_KEYS <= set(entry["origin"]), "every payload says where it comes from"
    expect = entry["expect"]
    provider = get_provider(entry["provider"])
    if expect["outcome"] == "refused":
        with pytest.raises(ProcessingError):
            provider.normalize(stored(entry))
        return
    event = provider.normalize(stored(entry))
    if expect["outcome"] == "ignored":
        assert expect["reason"], "an ignored payload says why"
        assert event is None
        return
    assert expect["outcome"] == "normalized"
    assert event is not None
    stated = {name: getattr(event, attribute) for name, attribute in EVENT_FIELDS.items()}
    wanted = {name: expect.get(name) for name in EVENT_FIELDS}
    assert stated == wanted
    assert list(event.related_payment_keys) == expect.get("relatedPaymentKeys", [])
    assert dict(event.references) == expect.get("references", {})
