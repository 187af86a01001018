"""Issue #12 item 1, attacked: a PayPal body forged to the CRC32 of a genuine one.

Against the real 2017 PayPal delivery and against deliveries signed here with providers_tooling's
signer, each test builds a *different* body (other event id, type, amount) with the genuine body's
CRC32 (tests/attacks/crc32_forge.py: a linear solve over GF(2)) and shows:

1. the attack is real: the forged body's CRC32 equals the original's, the RSA check alone accepts
   the genuine signature for it, and so does the whole provider inside the window;
2. what refuses it: outside the transmission-time window, 401 ``signature_expired``; inside it, the
   event carries the *genuine* transmission id, under which ingest admits one body only (the
   route test for that is marked until the dedupe branch lands, see below).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from chalicelib.errors import MalformedPayload, SignatureExpired
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import CertificateStore
from chalicelib.providers.paypal.signature import signed_message, verify_rsa_sha256
from chalicelib.providers.paypal.window import DEFAULT_TOLERANCE_SECONDS
from providers_tooling.paypal import signed_headers
from tests.attacks.crc32_forge import (
    BINARY_MARKER,
    FreeBit,
    NoSolution,
    crc32,
    forge,
    forge_json,
    forge_with_pad_bytes,
    solve_gf2,
)
from tests.unit.providers.paypal_pki import (
    FakeFetcher,
    Issued,
    RealDelivery,
    load_real_delivery,
    make_ca,
    make_leaf,
    pem,
)

DAY = 86400
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270"
WEBHOOK_ID = "8PT597110X687430LKGECATA"


def forged_event(event_id: str, event_type: str, value: str) -> bytes:
    """The attacker's template: any event, any amount, and 64 free bits in a harmless string."""
    document = {
        "id": event_id,
        "event_version": "1.0",
        "create_time": "2017-03-30T20:04:05.613Z",
        "resource_type": "capture",
        "event_type": event_type,
        "summary": "Payment completed",
        "resource": {
            "id": "0TX12345AB678901C",
            "status": "COMPLETED",
            "amount": {"currency_code": "USD", "value": value},
            "custom_id": BINARY_MARKER.decode(),
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


ATTACKS = [
    ("WH-FORGED0000000000-000000000000000A", "PAYMENT.CAPTURE.COMPLETED", "9999.00"),
    ("WH-FORGED0000000000-000000000000000B", "PAYMENT.CAPTURE.REFUNDED", "1.00"),
    ("WH-FORGED0000000000-000000000000000C", "CUSTOMER.DISPUTE.RESOLVED", "250000.00"),
]


# --------------------------------------------------------------------------------------------
# The solver itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [0, 1, 0xFFFFFFFF, 0xDEADBEEF, 0x80000000])
@pytest.mark.parametrize("prefix", [b"", b'{"id":"WH-X"}', b"x" * 1000])
def test_four_pad_bytes_reach_any_crc(prefix: bytes, target: int) -> None:
    # GIVEN any prefix and suffix WHEN 4 bytes between them are solved THEN the CRC32 is the target
    forged = forge_with_pad_bytes(prefix, target, suffix=b"}")
    assert crc32(forged) == target
    assert forged.startswith(prefix) and forged.endswith(b"}") and len(forged) == len(prefix) + 5


def test_the_solver_refuses_a_system_it_cannot_solve() -> None:
    # GIVEN columns spanning only one bit WHEN another bit is asked for THEN no solution is claimed
    with pytest.raises(NoSolution):
        solve_gf2([0b1, 0b1, 0b1], 0b10)
    assert solve_gf2([0b01, 0b10, 0b11], 0b10) in ([0, 1, 0], [1, 0, 1])


def test_free_bits_scattered_in_json_keep_it_json() -> None:
    # GIVEN a template with the 64-digit marker WHEN solved for a target THEN valid JSON, only 0/1
    forged = forge_json(forged_event(*ATTACKS[0]), 0x12345678)
    assert crc32(forged) == 0x12345678
    assert set(json.loads(forged)["resource"]["custom_id"]) <= {"0", "1"}


def test_free_bits_may_be_anywhere() -> None:
    # GIVEN 40 free bits spread over a body (every 3rd byte's lowest bit) WHEN solved THEN it hits
    template = b"a" * 200
    free = [FreeBit(position, 0x01) for position in range(0, 120, 3)]
    forged = forge(template, free, 0xCAFEF00D)
    assert crc32(forged) == 0xCAFEF00D and len(forged) == len(template)


# --------------------------------------------------------------------------------------------
# The real 2017 PayPal delivery
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> RealDelivery:
    return load_real_delivery()


def real_setup(real: RealDelivery) -> tuple[PayPalProvider, SourceConfig]:
    store = CertificateStore(fetcher=FakeFetcher({real.cert_url: (real.leaf_pem + real.intermediate_pem).encode()}))
    source = SourceConfig(
        "paypal", "paypal", (real.webhook_id,), DEFAULT_TOLERANCE_SECONDS, {"trustRootsPem": real.root_pem}
    )
    return PayPalProvider(store), source


@pytest.mark.parametrize(("event_id", "event_type", "value"), ATTACKS)
def test_a_forged_body_passes_the_real_signature_check(
    real: RealDelivery, event_id: str, event_type: str, value: str
) -> None:
    # GIVEN the real delivery's headers and a forged body with its CRC32
    forged = forge_json(forged_event(event_id, event_type, value), crc32(real.body))
    assert forged != real.body and crc32(forged) == crc32(real.body)

    # WHEN the RSA check alone judges it THEN PayPal's genuine signature "signs" the forgery
    public_key = x509.load_pem_x509_certificate(real.leaf_pem.encode()).public_key()
    assert isinstance(public_key, RSAPublicKey)
    message = signed_message(real.transmission_id, real.transmission_time, real.webhook_id, forged)
    assert verify_rsa_sha256(public_key, base64.b64decode(real.transmission_sig), message)

    # AND the provider, inside the window, returns the forged event: the attack is real...
    provider, source = real_setup(real)
    [event] = provider.verify(forged, real.headers(), source, real.transmitted_at + 60)
    assert (event.event_id, event.event_type) == (event_id, event_type)
    assert json.loads(event.payload)["resource"]["amount"]["value"] == value
    # ...but it is pinned to the genuine transmission, which ingest binds to the genuine body
    assert event.transmission_id == real.transmission_id


@pytest.mark.parametrize(("event_id", "event_type", "value"), ATTACKS)
def test_the_window_refuses_the_forgery_once_the_transmission_is_stale(
    real: RealDelivery, event_id: str, event_type: str, value: str
) -> None:
    # GIVEN the same forgery, replayed once the 4-day window has passed (the certificate is
    # still valid then: only the window refuses it)
    forged = forge_json(forged_event(event_id, event_type, value), crc32(real.body))
    provider, source = real_setup(real)

    # WHEN / THEN 401 signature_expired
    with pytest.raises(SignatureExpired) as raised:
        provider.verify(forged, real.headers(), source, real.transmitted_at + DEFAULT_TOLERANCE_SECONDS + 1)
    assert (raised.value.status, raised.value.code) == (401, "signature_expired")


# --------------------------------------------------------------------------------------------
# Deliveries signed here with providers_tooling's signer
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    now = dt.datetime.now(tz=dt.UTC)
    root = make_ca("Attack Tests Root CA", now - dt.timedelta(days=30), now + dt.timedelta(days=3650))
    intermediate = make_ca("Attack Tests Issuing CA", now - dt.timedelta(days=30), now + dt.timedelta(days=1825), root)
    leaf = make_leaf(intermediate, now - dt.timedelta(days=30), now + dt.timedelta(days=365))
    return {"root": root, "intermediate": intermediate, "leaf": leaf}


def key_pem(leaf: Issued) -> bytes:
    return leaf.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def genuine_delivery(pki: dict[str, Issued], at: float, event_id: str = "WH-GENUINE-1") -> tuple[bytes, dict[str, str]]:
    """A genuine capture, signed as PayPal would, with providers_tooling's signer."""
    body = json.dumps(
        {
            "id": event_id,
            "event_version": "1.0",
            "create_time": "2026-06-01T12:00:00.000Z",
            "resource_type": "capture",
            "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "5O190127TN364715T", "amount": {"currency_code": "USD", "value": "7.47"}},
        },
        separators=(",", ":"),
    ).encode()
    stamp = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = signed_headers(body, key_pem(pki["leaf"]), CERT_URL, WEBHOOK_ID, str(uuid.uuid1()), stamp)
    return body, headers


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def local_setup(pki: dict[str, Issued]) -> tuple[PayPalProvider, SourceConfig, FakeFetcher]:
    fetcher = FakeFetcher({CERT_URL: pem(pki["leaf"].certificate, pki["intermediate"].certificate).encode()})
    options = {"trustRootsPem": pki["root"].pem}
    source = SourceConfig("paypal", "paypal", (WEBHOOK_ID,), DEFAULT_TOLERANCE_SECONDS, options)
    return PayPalProvider(CertificateStore(fetcher=fetcher)), source, fetcher


@pytest.mark.parametrize(("event_id", "event_type", "value"), ATTACKS)
def test_a_locally_signed_delivery_is_forged_within_the_window_and_refused_after(
    pki: dict[str, Issued], event_id: str, event_type: str, value: str
) -> None:
    # GIVEN a genuine delivery signed a minute ago, and a forged body with its CRC32
    now = time.time()
    body, headers = genuine_delivery(pki, now - 60)
    forged = forge_json(forged_event(event_id, event_type, value), crc32(body))
    assert crc32(forged) == crc32(body) and json.loads(forged)["id"] != json.loads(body)["id"]
    provider, source, _ = local_setup(pki)

    # WHEN it is verified inside the window THEN the signature accepts it, under the genuine
    # transmission id (what ingest's one-body rule keys on)
    [event] = provider.verify(forged, lower(headers), source, now)
    assert event.event_id == event_id
    assert event.transmission_id == headers["PAYPAL-TRANSMISSION-ID"]

    # WHEN the same forgery comes 4 days and a second after the transmission THEN 401 expired
    with pytest.raises(SignatureExpired):
        provider.verify(forged, lower(headers), source, now - 60 + DEFAULT_TOLERANCE_SECONDS + 1)


def test_four_raw_pad_bytes_pass_the_signature_but_not_the_json_reader(pki: dict[str, Issued]) -> None:
    # GIVEN the crudest forgery: the attacker's JSON followed by 4 solved bytes
    now = time.time()
    body, headers = genuine_delivery(pki, now)
    forged = forge_with_pad_bytes(forged_event(*ATTACKS[0]), crc32(body))
    assert crc32(forged) == crc32(body)
    provider, source, _ = local_setup(pki)

    # WHEN / THEN the signature verifies and only the body's shape stops it (400, not 401)
    with pytest.raises(MalformedPayload):
        provider.verify(forged, lower(headers), source, now)


# --------------------------------------------------------------------------------------------
# Through the route (Chalice's test client on the moto stack)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def paypal_route(stack: Any, pki: dict[str, Issued], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFetcher]:
    """A ``paypal`` source in the stage's secret, its certificate served by a fake fetcher."""
    from chalicelib.providers.paypal import chain

    secrets = stack.session.client("secretsmanager")
    document = json.loads(secrets.get_secret_value(SecretId=stack.resources.secret_id)["SecretString"])
    document["sources"]["paypal"] = {"secrets": [WEBHOOK_ID], "trustRootsPem": pki["root"].pem}
    secrets.put_secret_value(SecretId=stack.resources.secret_id, SecretString=json.dumps(document))
    fetcher = FakeFetcher({CERT_URL: pem(pki["leaf"].certificate, pki["intermediate"].certificate).encode()})
    monkeypatch.setattr(chain.DEFAULT_STORE, "fetcher", fetcher)
    chain.DEFAULT_STORE.clear()
    yield fetcher
    chain.DEFAULT_STORE.clear()


def post(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post("/webhook/paypal", body=body, headers={"Content-Type": "application/json", **headers})


def test_route_a_stale_transmission_is_refused_and_nothing_is_stored(
    client: Any, stack: Any, paypal_route: FakeFetcher, pki: dict[str, Issued]
) -> None:
    # GIVEN a genuine delivery whose transmission is 5 days old (beyond PayPal's 3 days of retries)
    body, headers = genuine_delivery(pki, time.time() - 5 * DAY)

    # WHEN it is posted THEN 401 signature_expired, nothing stored
    response = post(client, body, headers)
    assert response.status_code == 401 and json.loads(response.body)["error"] == "signature_expired"
    assert stack.items() == []


def test_route_a_stale_forgery_is_refused_and_nothing_is_stored(
    client: Any, stack: Any, paypal_route: FakeFetcher, pki: dict[str, Issued]
) -> None:
    # GIVEN a forged body under a captured transmission 5 days old
    body, headers = genuine_delivery(pki, time.time() - 5 * DAY)
    forged = forge_json(forged_event(*ATTACKS[0]), crc32(body))

    # WHEN it is posted THEN 401 signature_expired, nothing stored
    response = post(client, forged, headers)
    assert response.status_code == 401 and json.loads(response.body)["error"] == "signature_expired"
    assert stack.items() == []


def test_route_a_retry_with_the_first_headers_is_admitted(
    client: Any, stack: Any, paypal_route: FakeFetcher, pki: dict[str, Issued]
) -> None:
    # GIVEN a genuine delivery re-sent 3 days after its transmission (PayPal's last retry)
    body, headers = genuine_delivery(pki, time.time() - 3 * DAY)

    # WHEN it is posted THEN it is stored
    response = post(client, body, headers)
    assert response.status_code == 200, response.body
    assert len(stack.webhook_items()) == 1


def test_route_a_cert_url_with_a_query_is_refused_without_a_fetch(
    client: Any, stack: Any, paypal_route: FakeFetcher, pki: dict[str, Issued]
) -> None:
    # GIVEN a delivery whose cert URL carries a query (signed: the URL is not part of the message)
    body, headers = genuine_delivery(pki, time.time())
    headers["PAYPAL-CERT-URL"] = CERT_URL + "?redirect=https://evil.example/"

    # WHEN it is posted THEN 401 invalid_signature, no fetch, nothing stored
    response = post(client, body, headers)
    assert response.status_code == 401 and json.loads(response.body)["error"] == "invalid_signature"
    assert paypal_route.calls == []
    assert stack.items() == []


def test_route_a_fresh_forgery_after_the_genuine_delivery_is_refused(
    client: Any, stack: Any, paypal_route: FakeFetcher, pki: dict[str, Issued]
) -> None:
    # GIVEN the genuine delivery received, and a forged body (other event id) under its headers
    body, headers = genuine_delivery(pki, time.time() - 60)
    assert post(client, body, headers).status_code == 200
    forged = forge_json(forged_event(*ATTACKS[0]), crc32(body))

    # WHEN the forgery is posted inside the window
    response = post(client, forged, headers)

    # THEN it is refused (4xx, so it is not retried) and only the genuine event is stored
    assert 400 <= response.status_code < 500, response.body
    assert len(stack.webhook_items()) == 1
