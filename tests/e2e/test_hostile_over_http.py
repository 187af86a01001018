"""Issue #12's attacks end to end over HTTP, against a local stack started as `make run` starts it.

The route-level tests (tests/functional/test_hostile.py, tests/attacks/) call the app through
Chalice's test client; here the same attacks go over a socket to Chalice's local server, with the
stack's own PayPal PKI, its sources secret in the emulator and its real queue and processor. Each
refusal also checks, by scanning the table through the emulator, that nothing was stored.

The stack of this module gets extra sources through ``LOCAL_SOURCES_FILE`` (as a developer would:
``LOCAL_SOURCES_FILE=extra.json make run``): ``stripe-eu``, a second Stripe account with its own
secret, and ``adyen-broken``, whose HMAC key is not hexadecimal. The conflicting duplicate (item 9)
is in tests/e2e/test_hostile_deliveries.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import http.client
import http.server
import json
import secrets
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.providers.adyen.signature import compute_signature
from chalicelib.providers.paypal.window import DEFAULT_TOLERANCE_SECONDS
from chalicelib.webhooks.store import WebhookStore
from ops import delivery as deliveries
from ops import samples
from ops.records import wait_until_final
from providers_tooling import stripe
from providers_tooling.contract import JSON_HEADERS, Delivery, SigningMaterial
from providers_tooling.paypal import signed_headers
from tests.attacks.crc32_forge import crc32, forge_json
from tests.attacks.test_paypal_crc32_forgery import ATTACKS, forged_event
from tests.e2e.stack import StackProcess, boto3_client

pytestmark = pytest.mark.slow

EU_SECRET = "whsec_eu_" + secrets.token_hex(16)
NOT_HEX_KEY = "not-a-hex-key-" + secrets.token_hex(8)
EXTRA_SOURCES = {
    "stripe-eu": {"provider": "stripe", "secrets": [EU_SECRET]},
    "adyen-broken": {"provider": "adyen", "secrets": [NOT_HEX_KEY]},
}
PROCESSING_SECONDS = 45


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """One stack for the module, with the extra sources of :data:`EXTRA_SOURCES`."""
    sources_file = tmp_path_factory.mktemp("hostile-sources") / "extra-sources.json"
    sources_file.write_text(json.dumps({"sources": EXTRA_SOURCES}))
    started = StackProcess.start(
        tmp_path_factory.mktemp("hostile-stack"), environment={"LOCAL_SOURCES_FILE": str(sources_file)}
    )
    yield started
    assert started.interrupt() == 0, started.output[-3000:]


# --- what the emulator holds --------------------------------------------------------------------


_CLIENTS: dict[tuple[Path, str], Any] = {}


def client(stack: StackProcess, service: str) -> Any:
    """One emulator client per service for the module: making a boto3 client takes a second or two."""
    key = (stack.state_dir, service)
    if key not in _CLIENTS:
        _CLIENTS[key] = boto3_client(stack, service)
    return _CLIENTS[key]


def table_name(stack: StackProcess) -> str:
    return str(stack.state()["resources"]["table_name"])


def table_items(stack: StackProcess) -> list[dict[str, Any]]:
    """Every item of the stack's table (webhooks, payments, dedupe and transmission markers)."""
    pages = client(stack, "dynamodb").get_paginator("scan").paginate(TableName=table_name(stack))
    return [item for page in pages for item in page["Items"]]


def readable(value: object) -> str:
    """A binary attribute as text: records over 1 KB keep their payload zlib-compressed, and an id
    hidden in a compressed blob must still be found."""
    assert isinstance(value, bytes)
    try:
        return zlib.decompress(value).decode("utf-8", "replace")
    except zlib.error:
        return value.decode("utf-8", "replace")


@dataclass
class Snapshot:
    """The table before an attack, to show afterwards that the attack stored nothing."""

    stack: StackProcess
    keys: set[str]

    @classmethod
    def take(cls, stack: StackProcess) -> Snapshot:
        return cls(stack, {item["pk"]["S"] for item in table_items(stack)})

    def assert_nothing_stored(self, *markers: str) -> None:
        """No item was added, and none mentions any of ``markers`` (the attack's own ids)."""
        after = table_items(self.stack)
        assert {item["pk"]["S"] for item in after} == self.keys
        text = json.dumps(after, default=readable)
        for marker in markers:
            assert marker not in text, marker


def processed(stack: StackProcess, webhook_ids: list[str]) -> None:
    """Wait until the stack's processor finished these webhooks (so that it adds nothing later)."""
    store = WebhookStore(client(stack, "dynamodb"), table_name(stack))
    final = wait_until_final(store, webhook_ids, PROCESSING_SECONDS)
    assert all(record is not None and record.status == "processed" for record in final), final


def sources(stack: StackProcess) -> dict[str, Any]:
    secret_id = stack.state()["resources"]["secret_id"]
    response = client(stack, "secretsmanager").get_secret_value(SecretId=secret_id)
    return dict(json.loads(response["SecretString"])["sources"])


def send(stack: StackProcess, source: str, delivery: Delivery) -> deliveries.Answer:
    return deliveries.post(f"{stack.url}/webhook/{source}", delivery)


def error_of(answer: deliveries.Answer) -> str:
    return str(json.loads(answer.body)["error"])


# --- PayPal (items 1 and 5) -----------------------------------------------------------------------


@dataclass(frozen=True)
class PayPalSender:
    """Signs as PayPal would for the stack: its webhook id, its local signing key and cert URL."""

    webhook_id: str
    key_pem: bytes
    cert_url: str

    @classmethod
    def of(cls, stack: StackProcess) -> PayPalSender:
        paypal = stack.state()["paypal"]
        return cls(sources(stack)["paypal"]["secrets"][0], Path(paypal["signingKeyFile"]).read_bytes(),
                   paypal["certUrl"])

    def delivery(self, body: bytes, at: float, cert_url: str | None = None) -> Delivery:
        stamp = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = signed_headers(body, self.key_pem, cert_url or self.cert_url, self.webhook_id,
                                 str(uuid.uuid1()), stamp)
        return Delivery(body, headers)


def paypal_capture() -> bytes:
    built = samples.build("paypal", "PAYMENT.CAPTURE.COMPLETED")
    return json.dumps(built.document, separators=(",", ":")).encode()


def test_a_crc32_twin_of_a_genuine_paypal_delivery_is_409_and_stores_nothing(stack: StackProcess) -> None:
    # GIVEN a genuine PayPal delivery, signed a minute ago with the stack's key, accepted and processed
    sender = PayPalSender.of(stack)
    genuine = sender.delivery(paypal_capture(), time.time() - 60)
    accepted = send(stack, "paypal", genuine)
    assert (accepted.status, accepted.outcome) == (200, "accepted"), accepted.body
    processed(stack, accepted.webhook_ids)
    # AND a different body (another event id, type and amount) with the genuine body's CRC32
    event_id, event_type, value = ATTACKS[1]
    forged = forge_json(forged_event(event_id, event_type, value), crc32(genuine.body))
    assert forged != genuine.body and crc32(forged) == crc32(genuine.body)
    before = Snapshot.take(stack)

    # WHEN the forgery is posted under the genuine headers, inside the window
    answer = send(stack, "paypal", Delivery(forged, dict(genuine.headers)))

    # THEN one transmission has one body: 409, and the forged event is nowhere
    assert (answer.status, error_of(answer)) == (409, "transmission_conflict"), answer.body
    before.assert_nothing_stored(event_id)


def test_a_stale_paypal_transmission_is_401_signature_expired_and_stores_nothing(stack: StackProcess) -> None:
    # GIVEN a genuinely signed delivery whose transmission time is an hour older than the window
    body = paypal_capture()
    stale = PayPalSender.of(stack).delivery(body, time.time() - DEFAULT_TOLERANCE_SECONDS - 3600)
    before = Snapshot.take(stack)

    # WHEN it is posted THEN 401 signature_expired, nothing stored
    answer = send(stack, "paypal", stale)
    assert (answer.status, error_of(answer)) == (401, "signature_expired"), answer.body
    before.assert_nothing_stored(json.loads(body)["id"])


class Recorder(http.server.ThreadingHTTPServer):
    """A loopback HTTP server that only records the paths asked of it (and answers 404)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                recorder.paths.append(self.path)
                self.send_error(404)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_a_paypal_cert_url_with_a_query_is_401_without_a_fetch(stack: StackProcess, recorder: Recorder) -> None:
    # GIVEN a signed delivery whose cert URL, on the stack's allowed loopback host but served by a
    # recorder, has the pinned path and a query (the URL is not covered by the signature)
    sender = PayPalSender.of(stack)
    cert_path = "/v1/notifications/certs/" + sender.cert_url.rsplit("/", 1)[-1]
    body = paypal_capture()
    before = Snapshot.take(stack)

    # WHEN it is posted
    answer = send(stack, "paypal", sender.delivery(body, time.time(), f"{recorder.base}{cert_path}?x=1"))

    # THEN 401 invalid_signature, nothing fetched, nothing stored
    assert (answer.status, error_of(answer)) == (401, "invalid_signature"), answer.body
    assert recorder.paths == []
    before.assert_nothing_stored(json.loads(body)["id"])
    # AND (the recorder would have seen a fetch) the same URL without the query is fetched
    send(stack, "paypal", sender.delivery(body, time.time(), f"{recorder.base}{cert_path}"))
    assert recorder.paths == [cert_path]
    before.assert_nothing_stored(json.loads(body)["id"])


# --- Adyen (items 2 and 4) ------------------------------------------------------------------------


def adyen_item(merchant_reference: str) -> dict[str, Any]:
    """One unsigned AUTHORISATION item of a fresh payment, with the given merchantReference."""
    [wrapper] = samples.build("adyen", "AUTHORISATION").document["notificationItems"]
    item = copy.deepcopy(wrapper)
    item["NotificationRequestItem"]["merchantReference"] = merchant_reference
    return dict(item)


def adyen_key(stack: StackProcess) -> bytes:
    return bytes.fromhex(sources(stack)["adyen"]["secrets"][0])


def signed(item: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The item with its hmacSignature (the receiver's own signing bytes: surrogates pass through)."""
    result = copy.deepcopy(item)
    inner = result["NotificationRequestItem"]
    inner.setdefault("additionalData", {})["hmacSignature"] = compute_signature(key, inner)
    return result


def adyen_delivery(*items: dict[str, Any]) -> Delivery:
    # json.dumps escapes non-ASCII: a lone surrogate travels as the valid ASCII JSON "\ud800"
    body = json.dumps({"live": "false", "notificationItems": list(items)}).encode("ascii")
    return Delivery(body, dict(JSON_HEADERS))


def test_a_shifted_adyen_boundary_keeps_the_signature_but_is_400_and_stores_nothing(stack: StackProcess) -> None:
    # GIVEN a genuine signed item whose merchantReference holds a ':'
    key = adyen_key(stack)
    genuine = signed(adyen_item("order:4242"), key)
    inner = genuine["NotificationRequestItem"]
    # WHEN the ':' before merchantAccountCode moves into originalReference and the one in
    # merchantReference becomes the separator (a new dedupe key: a phantom payment), the genuine
    # signature kept
    shifted = copy.deepcopy(genuine)
    moved = shifted["NotificationRequestItem"]
    moved["originalReference"] = ":" + inner["merchantAccountCode"]
    moved["merchantAccountCode"], moved["merchantReference"] = inner["merchantReference"].split(":")
    assert compute_signature(key, moved) == inner["additionalData"]["hmacSignature"]  # the attack is real
    before = Snapshot.take(stack)

    answer = send(stack, "adyen", adyen_delivery(shifted))

    # THEN the delivery is refused whole, nothing stored
    assert (answer.status, error_of(answer)) == (400, "invalid_event_field"), answer.body
    before.assert_nothing_stored(inner["pspReference"])


@pytest.mark.parametrize("field", ["pspReference", "merchantReference"])
def test_lone_surrogates_are_401_unsigned_and_400_signed_and_store_nothing(stack: StackProcess, field: str) -> None:
    # GIVEN an Adyen item with a lone surrogate in a signed field, once with a forged signature
    # and once signed with the source's key
    item = adyen_item("order-1")
    inner = item["NotificationRequestItem"]
    psp_reference = inner["pspReference"]
    inner[field] = inner[field][:-1] + "\ud800"
    unsigned = copy.deepcopy(item)
    unsigned["NotificationRequestItem"]["additionalData"]["hmacSignature"] = "AAAA"
    unsigned_delivery, signed_delivery = adyen_delivery(unsigned), adyen_delivery(signed(item, adyen_key(stack)))
    assert b"\\ud800" in signed_delivery.body
    before = Snapshot.take(stack)

    # WHEN both are posted THEN no 5xx: the unsigned one is an invalid signature, the signed one
    # a field out of format; nothing stored
    answers = send(stack, "adyen", unsigned_delivery), send(stack, "adyen", signed_delivery)
    assert [(a.status, error_of(a)) for a in answers] == [(401, "invalid_signature"), (400, "invalid_event_field")]
    before.assert_nothing_stored(psp_reference[:-1])


def raw_post(stack: StackProcess, path: str, body: bytes, headers: dict[str, str]) -> int | None:
    """POST with the headers exactly as given (latin-1, as HTTP/1.1 carries them); the answer's
    status, or None when the server closed the connection without one."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=15)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        return connection.getresponse().status
    except (http.client.RemoteDisconnected, ConnectionResetError):  # not a timeout: a hang is a failure
        return None
    finally:
        connection.close()


def test_an_odd_content_length_gets_no_5xx_and_the_stack_keeps_serving(stack: StackProcess) -> None:
    # GIVEN a validly signed Stripe delivery whose Content-Length is "²" (isdigit(), not int())
    built = samples.build("stripe", "payment_intent.succeeded")
    body = json.dumps(built.document).encode()
    headers = stripe.signed_headers(body, sources(stack)["stripe"]["secrets"][0], int(time.time()))
    before = Snapshot.take(stack)

    # WHEN it is posted as is
    status = raw_post(stack, "/webhook/stripe", body, {**headers, "Content-Length": "²"})

    # THEN no 5xx (Chalice's local server itself reads Content-Length with int() and drops the
    # connection before the app sees it; API Gateway would not pass it either), nothing stored...
    assert status is None or status < 500, status
    before.assert_nothing_stored(built.event_id)
    # ...and the stack still serves: the same delivery with its true length is accepted (and
    # processed, so that the next test's snapshot is not racing the processor)
    answer = send(stack, "stripe", Delivery(body, headers))
    assert answer.status == 200, answer.body
    processed(stack, answer.webhook_ids)


# --- A broken source (item 6) ---------------------------------------------------------------------


def test_a_broken_source_is_503_with_retry_after_and_stores_nothing(stack: StackProcess) -> None:
    # GIVEN `adyen-broken` from LOCAL_SOURCES_FILE (its key is not hexadecimal) and a delivery
    # signed with the good adyen key
    item = signed(adyen_item("order-2"), adyen_key(stack))
    before = Snapshot.take(stack)

    # WHEN it is posted to the broken source
    answer = send(stack, "adyen-broken", adyen_delivery(item))

    # THEN the provider is told to retry later (a fixed configuration will take it), nothing stored
    assert (answer.status, error_of(answer)) == (503, "temporarily_unavailable"), answer.body
    assert answer.headers["retry-after"].isdigit()
    before.assert_nothing_stored(item["NotificationRequestItem"]["pspReference"])
    # AND the stack's log names the source as a configuration fault, never the key
    assert NOT_HEX_KEY not in stack.output
    # (the local stack prints the JSON log's fields as key=value)
    [line] = [line for line in stack.output.splitlines() if "source=adyen-broken" in line and "httpStatus=503" in line]
    assert "fault=configuration" in line and "Adyen HMAC keys must be hexadecimal" in line


# --- Payments keyed by source (item 3) ------------------------------------------------------------


def send_sample(stack: StackProcess, source: str, event_type: str, payment_id: str) -> None:
    """What `ops send SOURCE EVENT_TYPE --payment-id ...` does, in process (a subprocess costs
    seconds): signed with the source's own secret, accepted over HTTP, then processed."""
    entry = sources(stack)[source]
    provider = str(entry.get("provider", source))
    built = samples.build(provider, event_type, samples.SampleOptions(payment_id=payment_id))
    answer = send(stack, source, deliveries.sign(built, SigningMaterial.from_source(entry, provider)))
    assert (answer.status, answer.outcome) == (200, "accepted"), answer.body
    processed(stack, answer.webhook_ids)


def test_a_refund_from_stripe_eu_does_not_touch_the_stripe_payment_of_the_same_id(stack: StackProcess) -> None:
    # GIVEN a payment that succeeded on the `stripe` source
    payment_id = f"pi_e2e{uuid.uuid4().hex[:20]}"
    send_sample(stack, "stripe", "payment_intent.succeeded", payment_id)

    # WHEN `stripe-eu` (another account, signing with its own secret) sends a refund for the same
    # PaymentIntent id, and it is processed
    send_sample(stack, "stripe-eu", "charge.refunded", payment_id)

    # THEN `stripe`'s payment is untouched and the refund belongs to `stripe-eu`'s own payment
    ours = stack.ops_json("payment", f"stripe:{payment_id}")
    theirs = stack.ops_json("payment", f"stripe-eu:{payment_id}")
    assert (ours["source"], ours["status"], ours["refunds"]) == ("stripe", "succeeded", [])
    assert not ours["refundedAmount"]
    assert theirs["source"] == "stripe-eu" and theirs["refundedAmount"] == 2000
    # AND in the table, the two are different items
    payments = [item for item in table_items(stack) if payment_id in item["pk"]["S"]]
    assert sorted(item["pk"]["S"] for item in payments) == [f"payment#stripe-eu:{payment_id}",
                                                           f"payment#stripe:{payment_id}"]
