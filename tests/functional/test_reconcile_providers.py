"""Square, GoCardless and PayPal halves of the reconciler against local servers answering the
documented list shapes (tests/fixtures/<provider>/README.md): pagination, an error page, and
records the processor can read."""

from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.reconcile.cursor import CursorStore
from chalicelib.reconcile.http import JsonClient
from chalicelib.reconcile.run import ReconcileContext, events_api_factory, reconcile_all
from chalicelib.webhooks.record import webhook_id_for
from tests.functional.events_stub import PagedStub, paged_stub

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def query_value(name: str) -> Any:
    return lambda path, body: urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get(name, [None])[0]


def square_cursor(path: str, body: bytes) -> str | None:
    return json.loads(body).get("cursor") if body else None


def paypal_page(path: str, body: bytes) -> str | None:
    return query_value("page")(path, body)


@dataclass(frozen=True)
class Case:
    provider: str
    files: tuple[str, str, str]
    """page 1, page 2, error body"""
    tokens: tuple[str | None, str]
    token_of: Any
    api: dict[str, str]
    ids: tuple[str, ...]
    """The payment-relevant events of both pages."""


CASES = [
    Case("square", ("square/events_search_page1.json", "square/events_search_page2.json",
                    "square/events_search_error.json"),
         (None, "6b571fc9773647f=="), square_cursor, {"key": "EAAAsquare-token"},
         ("sq-evt-0001", "sq-evt-0002", "sq-evt-0003")),
    Case("gocardless", ("gocardless/events_list_page1.json", "gocardless/events_list_page2.json",
                        "gocardless/events_list_error.json"),
         (None, "EV000RECON0002"), query_value("after"), {"key": "live_gocardless-token"},
         ("EV000RECON0001", "EV000RECON0002", "EV000RECON0003")),
    Case("paypal", ("paypal/webhooks_events_page1.json", "paypal/webhooks_events_page2.json",
                    "paypal/webhooks_events_error.json"),
         (None, "2"), paypal_page, {"clientId": "AaPayPalClient", "clientSecret": "EEPayPalSecret"},
         ("WH-RECON-0001", "WH-RECON-0002", "WH-RECON-0003")),
]


def stub_for(case: Case) -> PagedStub:
    page1, page2, error = ((FIXTURES / name).read_text() for name in case.files)
    return PagedStub(pages=[page1, page2], tokens=list(case.tokens), token_of=case.token_of, error_body=error)


def run(stub: PagedStub, case: Case, now: int) -> Any:
    services = runtime.services()
    source = SourceConfig(name=case.provider, provider=case.provider, secrets=("x",),
                          options={"api": {**case.api, "baseUrl": stub.base}}, stage="local")
    context = ReconcileContext(
        ingest=services.ingest, cursors=CursorStore(services.aws.dynamodb, services.settings.table_name),
        sources=lambda: [source], client=JsonClient(timeout_seconds=2),
    )
    return reconcile_all(context, now)


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_both_pages_are_listed_and_each_relevant_event_is_stored_once_in_a_shape_the_processor_reads(
    stack: Any, case: Case
) -> None:
    with paged_stub(stub_for(case)) as stub:
        result = run(stub, case, int(time.time()))
    outcome = result.sources[case.provider]
    assert outcome.complete and sorted(outcome.seen) == sorted(case.ids)
    assert sorted(outcome.recovered) == sorted(webhook_id_for(case.provider, i) for i in case.ids)
    store = runtime.services().store
    provider = get_provider(case.provider)
    for event_id in case.ids:
        record = store.get(webhook_id_for(case.provider, event_id))
        assert record is not None and record.origin == "reconciled"
        assert provider.normalize(record) is not None  # the mapping reads it like a delivered one
    assert len(stub.requests) >= 2  # two pages (PayPal: a token first)


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
@pytest.mark.parametrize("fault", ["429", "500"])
def test_an_error_page_keeps_the_cursor_and_the_next_run_completes_without_duplicates(
    stack: Any, case: Case, fault: str
) -> None:
    now = int(time.time())
    stub = stub_for(case)
    stub.faults = [None, fault]  # the second page fails once
    cursors = CursorStore(stack.dynamodb, stack.resources.table_name)
    with paged_stub(stub):
        first = run(stub, case, now)
        assert first.failed == [case.provider] and not cursors.get(case.provider, 0).exists
        second = run(stub, case, now + 60)
    recovered = first.sources[case.provider].recovered + second.sources[case.provider].recovered
    assert sorted(recovered) == sorted(webhook_id_for(case.provider, i) for i in case.ids)
    assert cursors.get(case.provider, 0).position == now + 60


def test_paypal_sends_its_client_credentials_for_a_token_and_the_token_as_bearer(stack: Any) -> None:
    case = CASES[2]
    with paged_stub(stub_for(case)) as stub:
        run(stub, case, int(time.time()))
    token_request, *listing = stub.requests
    assert token_request[1] == "/v1/oauth2/token" and token_request[3] == b"grant_type=client_credentials"
    assert token_request[2]["authorization"].startswith("Basic ")
    assert {request[2]["authorization"] for request in listing} == {f"Bearer {stub.oauth_token}"}


def test_a_paypal_next_link_to_another_host_is_not_followed() -> None:
    from chalicelib.providers.paypal.events_api import parse_page
    from chalicelib.reconcile.http import ProviderApiError

    document = {"events": [], "links": [{"rel": "next", "href": "https://evil.example/v1/x"}]}
    with pytest.raises(ProviderApiError):
        parse_page(document, "https://api-m.paypal.com")


def test_adyen_razorpay_and_standard_webhooks_have_no_events_api() -> None:
    assert [p for p in ("adyen", "razorpay", "standard") if events_api_factory(p) is not None] == []
    assert all(events_api_factory(p) is not None for p in ("stripe", "square", "gocardless", "paypal"))
