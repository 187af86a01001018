"""Reconciliation end to end, against localstripe: a third-party Stripe server with its own state,
its own events list and its own webhook signer.

The local stack runs as `make run` starts it, with the ``stripe`` source's API pointed at
localstripe (``STRIPE_API_KEY``, ``STRIPE_API_BASE``) and the reconciler scheduled every minute.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.providers.stripe.events_api import is_payment_relevant
from chalicelib.webhooks.record import webhook_id_for
from devstack.emulator import free_port
from devstack.state import REPOSITORY
from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow

API_KEY = "sk_test_e2e_reconcile"
# localstripe signs its deliveries with the secret it is given for the endpoint; the local stack's
# stripe source verifies with the same one (STRIPE_WEBHOOK_SECRET).
WEBHOOK_SECRET = "whsec_e2e_localstripe_0123456789abcdef"


class LocalStripe:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        data = urllib.parse.urlencode(form or {}).encode() if method == "POST" else None
        auth = base64.b64encode(f"{API_KEY}:".encode()).decode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                         headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def paid_intent(self, amount: int = 2500) -> str:
        """A payment intent created and confirmed: it ends ``succeeded``."""
        intent = self.call("POST", "/v1/payment_intents",
                           {"amount": str(amount), "currency": "eur", "payment_method": "pm_card_visa"})
        confirmed = self.call("POST", f"/v1/payment_intents/{intent['id']}/confirm")
        assert confirmed["status"] == "succeeded", confirmed
        return str(intent["id"])

    def relevant_event_ids(self, intent_id: str) -> set[str]:
        """The payment-relevant events localstripe lists for one intent."""
        listed = self.call("GET", "/v1/events?limit=100")["data"]
        return {e["id"] for e in listed
                if is_payment_relevant(e["type"]) and e["data"]["object"].get("id") == intent_id}


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    port = free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "tests.e2e.localstripe_server", str(port)], cwd=REPOSITORY,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LocalStripe(port)
    try:
        def up() -> bool:
            try:
                server.call("GET", "/v1/events")
                return True
            except OSError:
                return process.poll() is not None  # exited: fail below, not after the timeout
        eventually(up, 30, "localstripe to listen")
        assert process.poll() is None, "localstripe exited"
        yield server
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="module")
def reconciling_stack(localstripe: LocalStripe, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    variables = {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": localstripe.base, "RECONCILE_RATE_MINUTES": "1",
                 "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        stack = StackProcess.start(Path(tmp_path_factory.mktemp("reconcile-stack")))
    assert "stripe events API (reconciler): " + localstripe.base in stack.output
    assert API_KEY not in stack.output  # the banner names the variable, never the key
    yield stack
    assert stack.interrupt() == 0, stack.output[-3000:]


def payment_status(stack: StackProcess, intent_id: str) -> str | None:
    completed = stack.ops("payment", f"stripe:{intent_id}", "--json", expect=None)
    return json.loads(completed.stdout)["status"] if completed.returncode == 0 else None


def test_payments_never_delivered_are_recovered_by_ops_reconcile_and_end_succeeded(
    localstripe: LocalStripe, reconciling_stack: StackProcess
) -> None:
    # GIVEN two payments made at localstripe with no webhook endpoint registered
    intents = [localstripe.paid_intent(), localstripe.paid_intent(4200)]
    events = set().union(*(localstripe.relevant_event_ids(i) for i in intents))
    assert events

    # WHEN a dry run looks first, THEN it reports them missing and stores nothing
    dry = reconciling_stack.ops_json("reconcile", "stripe", "--since", "10m", "--dry-run")
    assert dry["recovered"] == 0 and events <= set(dry["seenEventIds"])
    assert {webhook_id_for("stripe", e) for e in events} <= set(dry["missingWebhookIds"])
    assert all(payment_status(reconciling_stack, i) is None for i in intents)

    # WHEN the operator reconciles
    report = reconciling_stack.ops_json("reconcile", "stripe", "--since", "10m")

    # THEN each was recovered once, and processing takes them to succeeded
    recovered = {webhook_id_for("stripe", e) for e in events}
    assert recovered <= set(report["recoveredWebhookIds"]) and isinstance(report["recovered"], int)
    for intent in intents:
        def succeeded(intent: str = intent) -> bool:  # bound now: ruff B023
            return payment_status(reconciling_stack, intent) == "succeeded"

        eventually(succeeded, 60, f"{intent} succeeded")
    shown = reconciling_stack.ops_json("show", next(iter(recovered)))
    assert shown["origin"] == "reconciled" and shown["status"] == "processed"

    # WHEN it runs again, THEN nothing is recovered: they are already stored
    again = reconciling_stack.ops_json("reconcile", "stripe", "--since", "10m")
    assert again["recovered"] == 0 and recovered <= set(again["alreadyStoredWebhookIds"])


def test_the_scheduled_reconciler_recovers_a_payment_on_its_own(
    localstripe: LocalStripe, reconciling_stack: StackProcess
) -> None:
    # GIVEN a payment made while no webhook reaches the stack
    intent = localstripe.paid_intent(990)

    # THEN within a schedule period or two, the reconciler recovered it and it is succeeded
    eventually(lambda: payment_status(reconciling_stack, intent) == "succeeded", 150, "the scheduled reconciler")
    assert "reconcile: recovered webhooks that were never delivered" in reconciling_stack.output


def test_live_deliveries_of_localstripe_are_processed_and_then_already_stored(
    localstripe: LocalStripe, reconciling_stack: StackProcess
) -> None:
    # GIVEN localstripe's webhook registered to the local stack (its own signer, Stripe's scheme)
    localstripe.call("POST", "/_config/webhooks/e2e", {
        "url": f"{reconciling_stack.url}/webhook/stripe", "secret": WEBHOOK_SECRET,
    })
    try:
        # WHEN a payment is made there
        intent = localstripe.paid_intent(1234)

        # THEN its delivery is verified and processed
        eventually(lambda: payment_status(reconciling_stack, intent) == "succeeded", 60, "the live delivery")
        events = localstripe.relevant_event_ids(intent)
        for event in events:
            shown = reconciling_stack.ops_json("show", webhook_id_for("stripe", event))
            assert shown["origin"] == "delivery"
        # AND the next reconcile counts it as already stored
        report = reconciling_stack.ops_json("reconcile", "stripe", "--since", "10m")
        assert {webhook_id_for("stripe", e) for e in events} <= set(report["alreadyStoredWebhookIds"])
        assert not {webhook_id_for("stripe", e) for e in events} & set(report["recoveredWebhookIds"])
    finally:
        # localstripe has no way to remove a webhook: point it at a closed port for later tests
        localstripe.call("POST", "/_config/webhooks/e2e", {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET})
