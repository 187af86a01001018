"""PayPal's confirmation option: a verified capture or refund is checked against PayPal's API.

Defense in depth for a signature that binds the body only through its CRC32: a body changed to
keep the CRC but move other money is refused because PayPal's own copy of the event differs.
A local server answers PayPal's OAuth and ``GET /v1/notifications/webhooks-events/{id}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.errors import DependencyUnavailable, InvalidSignature
from chalicelib.providers.paypal import events_api
from tests.functional.events_stub import PagedStub, paged_stub
from tests.unit.providers.paypal.helpers import BODY, CERT_URL, NOW, WEBHOOK_ID, ca_source, serving_genuine
from tests.unit.providers.paypal_pki import Issued, sign_delivery


@pytest.fixture
def paypal_api() -> Iterator[PagedStub]:
    events_api._TOKENS.clear()
    stub = PagedStub(pages=[BODY.decode()], tokens=[None], token_of=lambda path, body: None)
    with paged_stub(stub):
        yield stub
    events_api._TOKENS.clear()


def confirming_source(pki: dict[str, Issued], stub: PagedStub, **api: str) -> Any:
    credentials = {"clientId": "AaClient", "clientSecret": "EESecret", "baseUrl": stub.base, **api}
    return ca_source(pki, stage="local", confirmWithApi=True, api=credentials)


def test_a_capture_paypal_confirms_is_accepted_and_the_token_is_reused(
    pki: dict[str, Issued], paypal_api: PagedStub
) -> None:
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    source = confirming_source(pki, paypal_api)

    assert len(provider.verify(BODY, headers, source, NOW)) == 1
    assert len(provider.verify(BODY, headers, source, NOW)) == 1

    paths = [request[1] for request in paypal_api.requests]
    event_path = "/v1/notifications/webhooks-events/WH-58D329510W468432D-8HN650336L201105X"
    assert paths == ["/v1/oauth2/token", event_path, event_path]


def test_a_delivery_paypal_knows_differently_is_refused_and_alerted(
    pki: dict[str, Issued], paypal_api: PagedStub, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN PayPal's copy of the event names another amount than the signed delivery
    document = json.loads(BODY)
    document["resource"]["amount"]["value"] = "0.01"
    paypal_api.pages = [json.dumps(document)]
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)

    # WHEN / THEN the delivery is refused as unauthentic (a 4xx: never retried into acceptance)
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, confirming_source(pki, paypal_api), NOW)
    line = next(json.loads(t) for t in capsys.readouterr().out.splitlines() if "mismatch" in t)
    assert line["source"] == "paypal-main" and line["PayPalConfirmationMismatches"] == 1
    assert "EESecret" not in json.dumps(line)


@pytest.mark.parametrize("fault", ["500", "429"])
def test_paypal_unreachable_is_a_retryable_answer(pki: dict[str, Issued], paypal_api: PagedStub, fault: str) -> None:
    paypal_api.faults = [fault]
    provider, _ = serving_genuine(pki)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    with pytest.raises(DependencyUnavailable):
        provider.verify(BODY, headers, confirming_source(pki, paypal_api), NOW)


def test_without_the_option_or_for_an_event_that_moves_no_money_nothing_is_asked(
    pki: dict[str, Issued], paypal_api: PagedStub
) -> None:
    provider, _ = serving_genuine(pki)
    plain = ca_source(pki, stage="local")
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, CERT_URL)
    assert len(provider.verify(BODY, headers, plain, NOW)) == 1
    created = BODY.replace(b"PAYMENT.CAPTURE.COMPLETED", b"CHECKOUT.ORDER.APPROVED")
    headers = sign_delivery(pki["leaf"].key, created, WEBHOOK_ID, CERT_URL)
    assert len(provider.verify(created, headers, confirming_source(pki, paypal_api), NOW)) == 1
    assert paypal_api.requests == []
