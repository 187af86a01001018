"""Hostile senders through the route (issue #12): misconfigured sources, odd envelopes, lone
surrogates and shifted Adyen boundaries. Each answer is checked, and that nothing was stored."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.providers.adyen.signature import compute_signature
from providers_tooling.contract import JSON_HEADERS
from tests import samples
from tests.functional.helpers import log_lines, post

NOT_HEX_KEY = "not-a-hex-key-but-a-secret-value"
BROKEN_SOURCES: dict[str, Any] = {
    "adyen-badkey": {"provider": "adyen", "secrets": [NOT_HEX_KEY]},
    "adyen-badpin": {"provider": "adyen", "secrets": [samples.ADYEN_KEY], "merchantAccountCode": "a:b"},
    "adyen-pinned": {"provider": "adyen", "secrets": [samples.ADYEN_KEY], "merchantAccountCode": "SomeOtherECOM"},
    "bad-provider": {"provider": "no-such-provider-value", "secrets": ["whsec_x"]},
    "Bad.Name": {"provider": "stripe", "secrets": ["whsec_unreachable_name_secret"]},
}


@pytest.fixture
def hostile(stack: Any, client: Any) -> Iterator[Any]:
    """The test stack's sources plus broken ones, as an operator could misconfigure them."""
    stack.session.client("secretsmanager").put_secret_value(
        SecretId=stack.resources.secret_id, SecretString=json.dumps({"sources": {**samples.SOURCES, **BROKEN_SOURCES}})
    )
    runtime.reset()
    yield client
    runtime.reset()


def nothing_stored(stack: Any) -> bool:
    return stack.items() == [] and stack.drain() == []


def signed_item(item: dict[str, Any]) -> dict[str, Any]:
    signed = copy.deepcopy(item)
    inner = signed["NotificationRequestItem"]
    inner.setdefault("additionalData", {})["hmacSignature"] = compute_signature(bytes.fromhex(samples.ADYEN_KEY), inner)
    return signed


def adyen_body(*items: dict[str, Any]) -> bytes:
    return json.dumps({"live": "false", "notificationItems": list(items)}).encode("ascii")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("adyen-badkey", "source 'adyen-badkey': Adyen HMAC keys must be hexadecimal"),
        ("adyen-badpin", "source 'adyen-badpin': 'merchantAccountCode' must be a merchant account name"),
        ("bad-provider", "source 'bad-provider': 'provider' is not a registered provider"),
    ],
)
def test_a_misconfigured_source_is_503_retry_after_and_a_configuration_fault(hostile, stack, capsys, source, problem):
    # GIVEN a source whose key, option or provider is unusable
    body, headers = samples.adyen_delivery(samples.adyen_item("PSP0005000000000"))

    # WHEN a delivery arrives for it
    response = post(hostile, source, body, headers)

    # THEN the provider is told to retry later, and learns nothing about the configuration
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert json.loads(response.body)["error"] == "temporarily_unavailable"
    assert nothing_stored(stack)
    # AND one line names the source and the problem as a configuration fault, with no secret
    out = capsys.readouterr().out
    [rejected] = [line for line in log_lines(out) if line.get("outcome") == "rejected"]
    assert rejected["source"] == source and rejected["httpStatus"] == 503
    assert rejected["fault"] == "configuration" and rejected["problem"] == problem
    assert NOT_HEX_KEY not in out and "no-such-provider-value" not in out and "a:b" not in out


def test_a_source_name_the_url_cannot_reach_is_refused_at_load_time_without_echoing_it(hostile, stack, capsys):
    # GIVEN a configured source named "Bad.Name" (no URL can carry it) WHEN the sources load
    body, headers = samples.stripe_delivery(samples.stripe_event())
    assert post(hostile, "stripe", body, headers).status_code == 200

    # THEN that entry is a configuration fault, logged without its name or values
    lines = log_lines(capsys.readouterr().out)
    invalid = [line for line in lines if line["message"] == "source configuration invalid"]
    assert {line.get("source") for line in invalid} == {None, "bad-provider"}
    assert all(line["fault"] == "configuration" for line in invalid)
    assert "Bad.Name" not in json.dumps(lines) and "whsec_unreachable_name_secret" not in json.dumps(lines)
    assert post(hostile, "Bad.Name", body, headers).status_code == 404


def test_an_item_for_another_merchant_account_is_refused_by_a_pinned_source(hostile, stack):
    body, headers = samples.adyen_delivery(samples.adyen_item("PSP0006000000000"))

    response = post(hostile, "adyen-pinned", body, headers)

    assert response.status_code == 400
    assert json.loads(response.body)["error"] == "invalid_event_field"
    assert nothing_stored(stack)


def test_a_shifted_adyen_boundary_is_400_and_stores_nothing(client, stack):
    # GIVEN a genuine signed item whose merchantReference holds a ':'
    genuine = samples.adyen_item("PSP0007000000000")
    genuine["NotificationRequestItem"]["merchantReference"] = ":order-1"
    genuine = signed_item(genuine)
    # WHEN the ':' is moved into merchantAccountCode (the signature still verifies)
    shifted = copy.deepcopy(genuine)
    inner = shifted["NotificationRequestItem"]
    inner["merchantAccountCode"] += ":"
    inner["merchantReference"] = "order-1"
    body = adyen_body(signed_item(samples.adyen_item("PSP0008000000000")), shifted)
    response = post(client, "adyen", body, dict(JSON_HEADERS))

    # THEN the whole delivery is refused and nothing is stored
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == "invalid_event_field"
    assert nothing_stored(stack)
    assert post(client, "adyen", adyen_body(genuine), dict(JSON_HEADERS)).status_code == 200


@pytest.mark.parametrize("field", ["pspReference", "merchantReference", "eventCode", "merchantAccountCode"])
def test_lone_surrogates_in_adyen_fields_are_401_unsigned_and_400_signed(client, stack, field):
    item = samples.adyen_item("PSP0009000000000")
    item["NotificationRequestItem"][field] = "X\ud800"
    forged = copy.deepcopy(item)
    forged["NotificationRequestItem"]["additionalData"]["hmacSignature"] = "AAAA"

    unsigned = post(client, "adyen", adyen_body(forged), dict(JSON_HEADERS))
    signed = post(client, "adyen", adyen_body(signed_item(item)), dict(JSON_HEADERS))

    assert (unsigned.status_code, json.loads(unsigned.body)["error"]) == (401, "invalid_signature")
    assert (signed.status_code, json.loads(signed.body)["error"]) == (400, "invalid_event_field")
    assert nothing_stored(stack)


@pytest.mark.parametrize("declared", ["²", "¹²³", "٣", "9" * 5000, "0" * 5000 + "1"])
def test_odd_content_lengths_never_crash(client, stack, declared):
    # GIVEN a valid delivery whose Content-Length is Unicode digits, or a 5000-digit number
    body, headers = samples.stripe_delivery(samples.stripe_event())

    response = post(client, "stripe", body, {**headers, "Content-Length": declared})

    # THEN a small or unreadable declared length is ignored (the body's length counts), a huge one is 413
    expected = 413 if declared.startswith("9") else 200
    assert response.status_code == expected
