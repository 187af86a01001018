"""Issue #16: payloads compressed with frozen per-provider dictionaries come back byte for byte,
the dictionaries never change, and records written by the previous code stay readable."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.calls import dynamodb_item_bytes
from chalicelib.webhooks import dictionaries
from chalicelib.webhooks.encoding import (
    FINAL_UPDATE_HEADROOM_BYTES,
    WRITE_UNIT_BYTES,
    payload_encoding,
    stored_digest,
    stored_headers,
    stored_payload,
)
from chalicelib.webhooks.record import (
    WebhookRecord,
    attempt_entry,
    attempt_log_value,
    dedupe_marker_item,
    received_item,
    safe_headers,
)
from providers_tooling import dictionaries as builder

FROZEN = {
    "adyen-1": "38e203ad20c8d5febd9641f93af0cee50b27568d4673bbacce5d18cf02d1ea19",
    "gocardless-1": "1d8cb13deb079f26ba8de56fe1fe9eed4f52cbb5c029d07896649bb98188593f",
    "payments-1": "74a0ad671b8ad9f2bd925ff25f20b58bc1c69df8148d88c52dfb68638d99a485",
    "paypal-1": "c3b4d7ce15126fdc8e3bc46697f317ce9c3702f13d391847dbba219a297b70d8",
    "paypal-2": "9f1e1cdbc15964e24f3b7592eb7a14e8c81ef7e6a01e6bcaeea7053d2e47cf0a",
    "razorpay-1": "8caf793eb8cfc7cfd570e38bafc6491e0de86daa4913288545c7c6c9312aa230",
    "square-1": "ce6b9c365cafad64ea9c1d322720fe6831b4e4f2e7ec62481105001107ed3d85",
    "stripe-1": "a8ab9f3a57fe3d52d3b74355f6fb11b0d90281fc383fe6e47f4b88370c4396dc",
}
"""Copied here on purpose: changing a committed dictionary (and its pin in the module) must fail a
test, because records written with it would no longer inflate. Add new versions; never edit these."""

CORPUS = sorted(builder.CORPUS.glob("*/*.json"))
PROVIDERS_WITH_DICTIONARIES = sorted(dictionaries.CURRENT)


def _item(provider: str, payload: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return received_item(
        "wh_" + "b" * 32, provider, provider, "evt_1", "some.event", payload,
        "2026-12-01T11:00:00.000000Z", 1_790_000_000,
        headers=headers or {}, answer="200 accepted",
    )


def test_every_committed_dictionary_is_frozen_and_pinned() -> None:
    files = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in dictionaries.FOLDER.glob("*.bin")}
    assert files == FROZEN == dictionaries.PINNED
    assert set(dictionaries.CURRENT.values()) <= set(FROZEN)


def test_a_dictionary_that_does_not_match_its_pin_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stripe-1.bin").write_bytes(dictionaries.FOLDER.joinpath("stripe-1.bin").read_bytes() + b" ")
    monkeypatch.setattr(dictionaries, "FOLDER", tmp_path)
    monkeypatch.setattr(dictionaries, "_loaded", {})
    with pytest.raises(dictionaries.UnknownDictionary, match="pinned"):
        dictionaries.load("stripe-1")


def test_the_builder_is_deterministic_and_keeps_structure_not_unique_values() -> None:
    payloads = [payload for _, payload in builder.corpus("stripe")]
    assert builder.build(payloads) == builder.build(list(payloads))
    built = builder.build(payloads).decode()
    assert '"object":"event"' in built and '"livemode":' in built
    # A value only one corpus file has (its own charge id) is not copied into the dictionary.
    shared = builder.shared_values(payloads)
    unique = [value for value in builder.scalars(payloads[0]) if value not in shared and len(value) > 12]
    assert unique and not any(value in built for value in unique)


@pytest.mark.parametrize("provider", sorted({path.parent.name for path in CORPUS}))
def test_held_out_payloads_compress_better_with_the_dictionary(provider: str) -> None:
    rows = builder.evaluate(provider)  # each payload compressed with a dictionary built without it
    with_dictionary, plain = sum(row[3] for row in rows), sum(row[2] for row in rows)
    if len(rows) > 1:
        assert with_dictionary < 0.8 * plain, rows
    else:  # one file: nothing left to build from
        assert with_dictionary == plain


PAYPAL_DELIVERY_HEADERS = {  # the shape of a real delivery's (tooling's dictionaries.HEADER_SKELETONS)
    "accept": "*/*", "paypal-transmission-id": "89556ce0-4d55-11ee-9f56-dd5f48f22b28",
    "paypal-transmission-time": "2023-09-07T08:07:06Z", "paypal-auth-version": "v2",
    "paypal-cert-url": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-2d7ab011",
    "paypal-auth-algo": "SHA256withRSA", "content-type": "application/json",
    "user-agent": "PayPal/AUHD-214.0-58109767", "correlation-id": "f8426431e912e",
}


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: f"{path.parent.name}/{path.stem}")
@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("with_headers", [False, True])
def test_every_corpus_payload_round_trips_byte_for_byte(path: Path, indent: int | None, with_headers: bool) -> None:
    entry = json.loads(path.read_text())
    payload = json.dumps(entry["payload"], indent=indent, ensure_ascii=False) + ("\n" if indent else "")
    headers = ({**PAYPAL_DELIVERY_HEADERS, "x-forwarded-for": "173.0.80.116"} if with_headers else {})
    item = _item(entry["provider"], payload, headers)
    record = WebhookRecord.from_item(item)
    assert stored_payload(item) == payload == record.payload
    assert stored_headers(item) == headers == record.headers
    plain = {**item, "payload": {"S": payload}, "headers": {"M": {k: {"S": v} for k, v in headers.items()}}}
    if dynamodb_item_bytes(plain) > WRITE_UNIT_BYTES - FINAL_UPDATE_HEADROOM_BYTES:
        encoding = payload_encoding(entry["provider"])[0]
        assert item["payloadEncoding"]["S"] in (encoding, encoding.replace("zlib-dict:", "zlib-dict+headers:"))
    assert WebhookRecord.from_item(record.to_item()) == record


@pytest.mark.parametrize("path", sorted(builder.CORPUS.glob("paypal/*.json")), ids=lambda path: path.stem)
def test_paypal_records_written_with_paypal_1_still_read(path: Path) -> None:
    payload = json.dumps(json.loads(path.read_text())["payload"])
    base = {k: v for k, v in _item("paypal", "{}").items() if k not in ("payload", "payloadEncoding")}
    older = {**base, "payload": {"B": dictionaries.compress(payload.encode(), "paypal-1")},
             "payloadEncoding": {"S": "zlib-dict:paypal-1"},
             "headers": {"B": zlib.compress(json.dumps(PAYPAL_DELIVERY_HEADERS).encode())},
             "headersEncoding": {"S": "zlib-json"}}
    record = WebhookRecord.from_item(older)
    assert (record.payload, record.headers) == (payload, PAYPAL_DELIVERY_HEADERS)
    # Written again (a migration, the bench's rebuild of the put) it takes the current encoding.
    assert _item("paypal", payload, PAYPAL_DELIVERY_HEADERS)["payloadEncoding"] == {
        "S": "zlib-dict+headers:paypal-2"}


def test_every_committed_dictionary_is_rebuilt_by_its_recorded_recipe_and_inputs() -> None:
    # What `python -m providers_tooling.dictionaries --check` runs.
    assert builder.check() == []
    assert set(builder.manifest()) == set(FROZEN)
    for name, entry in builder.manifest().items():
        assert entry["recipe"] in builder.RECIPES
        for file in entry.get("files", []):
            assert (builder.CORPUS / name.rsplit("-", 1)[0] / file).is_file(), (name, file)


def test_a_corpus_file_added_later_does_not_change_an_old_version() -> None:
    # paypal-1 was built from seven files; the corpus has gained some since. Rebuilt from today's
    # corpus it would differ (the --check that compared with that failed); from its recorded files
    # it is the same bytes.
    entry = builder.manifest()["paypal-1"]
    assert len(entry["files"]) < len(builder.corpus("paypal"))
    committed = (dictionaries.FOLDER / "paypal-1.bin").read_bytes()
    assert builder.build(builder.inputs("paypal")) != committed
    assert builder.rebuild("paypal-1", entry) == committed


def test_recipe_2_keeps_shared_url_segments_and_ends_with_the_header_skeleton() -> None:
    def event(capture: str) -> dict[str, Any]:
        return {"resource": {"links": [
            {"href": f"https://api.paypal.com/v2/payments/captures/{capture}/refund", "rel": "refund"}]}}

    built = builder.build_v2([event("5VK462069F664902F"), event("0JF852973C016714D")], "paypal").decode()
    assert '"href":"https://api.paypal.com/v2/payments/captures/refund"' in built
    assert "5VK462069F664902F" not in built and "0JF852973C016714D" not in built
    assert built.endswith(json.dumps(builder.HEADER_SKELETONS["paypal"][-1], separators=(",", ":")))
    # Recipe 1, what paypal-1 and the others were built with, drops the long URL altogether.
    assert "captures" not in builder.build([event("5VK462069F664902F"), event("0JF852973C016714D")]).decode()


@settings(max_examples=150, deadline=None)
@given(payload=st.text(max_size=3_000), provider=st.sampled_from([*PROVIDERS_WITH_DICTIONARIES, "standard"]))
def test_arbitrary_text_round_trips_with_every_dictionary(payload: str, provider: str) -> None:
    item = _item(provider, payload)
    assert stored_payload(item) == payload


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=4_000), name=st.sampled_from(sorted(FROZEN)))
def test_arbitrary_bytes_round_trip_through_each_dictionary(data: bytes, name: str) -> None:
    assert dictionaries.decompress(dictionaries.compress(data, name), name) == data


def test_records_written_by_the_previous_code_stay_readable() -> None:
    payload = json.dumps({"id": "evt_1", "type": "charge.succeeded", "data": {"object": {"amount": 1000}}} ) * 30
    headers = {"content-type": "application/json", "user-agent": "Stripe/1.0"}
    base = {k: v for k, v in _item("stripe", "{}").items() if k not in ("payload", "payloadEncoding")}
    plain = {**base, "payload": {"S": payload}, "headers": {"M": {k: {"S": v} for k, v in headers.items()}}}
    legacy = {**base, "payload": {"B": zlib.compress(payload.encode(), 6)}, "payloadEncoding": {"S": "zlib"},
              "headers": {"B": zlib.compress(json.dumps(headers).encode())}, "headersEncoding": {"S": "zlib-json"}}
    for item in (plain, legacy):
        record = WebhookRecord.from_item(item)
        assert record.payload == payload and record.headers == headers == stored_headers(item)


def test_a_truncated_value_or_an_unknown_dictionary_is_an_error_never_a_shorter_payload() -> None:
    payload = json.dumps([{"object": "charge", "amount": n, "note": "x" * (n % 17)} for n in range(80)])
    item = _item("stripe", payload)
    assert item["payloadEncoding"] == {"S": "zlib-dict:stripe-1"}
    cut = {**item, "payload": {"B": item["payload"]["B"][:-5]}}
    with pytest.raises(zlib.error):
        stored_payload(cut)
    padded = {**item, "payload": {"B": item["payload"]["B"] + b"\x00"}}
    with pytest.raises(zlib.error):
        stored_payload(padded)
    with pytest.raises(ValueError, match="stripe-9"):
        stored_payload({**item, "payloadEncoding": {"S": "zlib-dict:stripe-9"}})
    with pytest.raises(ValueError, match="payloadEncoding"):
        stored_payload({**item, "payloadEncoding": {"S": "zstd"}})


def test_a_record_is_compressed_early_enough_for_its_final_update_to_fit_one_unit() -> None:
    # A Stripe event whose put alone would just fit one unit: the final update's attempt entry
    # would push it over, so it is compressed already.
    document: dict[str, Any] = {"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {}}
    def plain_size() -> int:
        item = _item("stripe", json.dumps(document))
        return dynamodb_item_bytes({**item, "payload": {"S": json.dumps(document)}, "payloadEncoding": {"S": ""}})

    while plain_size() < WRITE_UNIT_BYTES - 60:
        document["data"][f"k{len(document['data'])}"] = "value"
    assert plain_size() <= WRITE_UNIT_BYTES
    item = _item("stripe", json.dumps(document))
    assert "payloadEncoding" in item
    record = WebhookRecord.from_item(item)
    for outcome in ("processed", "ignored"):  # what the final update writes (WebhookStore.finish)
        history = record.with_attempt(attempt_entry(1_790_000_001.5, outcome))
        finished = {**item, "status": {"S": outcome}, "attempts": {"N": "1"}, "attemptLog": attempt_log_value(history)}
        assert dynamodb_item_bytes(finished) <= WRITE_UNIT_BYTES


def test_the_edge_headers_are_not_stored_but_the_senders_are() -> None:
    received = {"Host": "abc.execute-api.us-east-1.amazonaws.com", "Content-Length": "1234",
                "Via": "1.1 x.cloudfront.net",
                "X-Amzn-Trace-Id": "Root=1-2-3", "X-Amz-Cf-Id": "cf", "CloudFront-Viewer-Country": "US",
                "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", "Connection": "close",
                "Accept-Encoding": "gzip", "X-Forwarded-For": "54.187.174.169", "User-Agent": "Stripe/1.0",
                "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=x"}
    assert safe_headers(received, ("stripe-signature",)) == {
        "x-forwarded-for": "54.187.174.169", "user-agent": "Stripe/1.0", "content-type": "application/json"}


def test_dictionaries_are_loaded_lazily_per_provider() -> None:
    program = (
        "import app\n"
        "from chalicelib.webhooks import dictionaries\n"
        "from chalicelib.webhooks.record import received_item\n"
        "assert dictionaries.loaded() == frozenset(), dictionaries.loaded()\n"
        "received_item('wh_1', 's', 'stripe', 'e', 't', '{\"a\":1}' * 300, 'r', 1)\n"
        "print(sorted(dictionaries.loaded()))\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(root)})
    assert out.stdout.strip() == "['stripe-1']"


def test_the_digest_is_stored_as_raw_bytes_and_read_as_hex_in_both_forms() -> None:
    payload = json.dumps({"id": "evt_1"})
    item = _item("stripe", payload)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    assert item["payloadSha256"] == {"B": bytes.fromhex(digest)}
    marker = dedupe_marker_item("wh_" + "b" * 32, digest, 1, 2)  # markers keep the hex text
    assert stored_digest(item) == stored_digest(marker) == digest == WebhookRecord.from_item(item).payload_sha256
    older = {**item, "payloadSha256": {"S": digest}}
    assert stored_digest(older) == digest and WebhookRecord.from_item(older).to_item() == item
    assert stored_digest({}) == "" and "payloadSha256" not in WebhookRecord.from_item(
        {k: v for k, v in item.items() if k != "payloadSha256"}).to_item()


def test_a_delivery_leaves_origin_out_and_reads_back_as_a_delivery() -> None:
    item = _item("stripe", "{}")
    assert "origin" not in item and WebhookRecord.from_item(item).origin == "delivery"
    reconciled = received_item("wh_" + "c" * 32, "stripe", "stripe", "evt_2", "t", "{}", "r", 1,
                               origin="reconciled")
    assert reconciled["origin"] == {"S": "reconciled"}


@pytest.mark.parametrize("digest", ["A" * 64, "not-hex-" * 8, "abc"])
def test_a_digest_that_is_not_lower_case_hex_is_kept_as_text(digest: str) -> None:
    record = WebhookRecord.from_item(_item("stripe", "{}"))
    record.payload_sha256 = digest
    item = record.to_item()
    assert item["payloadSha256"] == {"S": digest} and stored_digest(item) == digest
