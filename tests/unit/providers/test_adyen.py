"""Adyen per-item HMAC verification, cross-checked against Adyen's Python library (Adyen.util)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload
from chalicelib.providers import get_provider
from chalicelib.providers.adyen import PROVIDER
from chalicelib.providers.adyen.signature import compute_signature, signing_string
from chalicelib.providers.contract import SourceConfig

NOW = 1_767_225_600.0  # Adyen signs no timestamp: the clock must not matter
KEY = "3A9F1C7E5B2D4F6081A3C5E7092B4D6F8A1C3E5079B2D4F6A8C0E2A4C6E8F0B2"
OLD_KEY = "0F1E2D3C4B5A69788796A5B4C3D2E1F00112233445566778899AABBCCDDEEFF0"
OTHER_KEY = "DEADBEEF" * 8


def source(*keys: str) -> SourceConfig:
    return SourceConfig(name="adyen", provider="adyen", secrets=keys or (KEY,))


def sign(item: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    """The item with additionalData.hmacSignature computed by Adyen's own library."""
    signed = copy.deepcopy(item)
    signature = generate_notification_sig(item, key).decode("ascii")
    signed.setdefault("additionalData", {})["hmacSignature"] = signature
    return signed


def delivery(*items: dict[str, Any]) -> dict[str, Any]:
    return {"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode("utf-8")


def authorisation(psp: str, reference: str, value: int) -> dict[str, Any]:
    """An AUTHORISATION item in the shape Adyen sends."""
    return {
        "additionalData": {
            "authCode": "058705",
            "cardSummary": "1111",
            "expiryDate": "03/2030",
            "paymentMethodVariant": "visa",
        },
        "amount": {"currency": "EUR", "value": value},
        "eventCode": "AUTHORISATION",
        "eventDate": "2026-01-01T00:59:58+01:00",
        "merchantAccountCode": "AcmeShopECOM",
        "merchantReference": reference,
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": psp,
        "reason": "058705:1111:03/2030",
        "success": "true",
    }


FIRST = authorisation("QFQTPCQ8HXSKGK82", "order-1042", 2500)
SECOND = authorisation("ZC4R4RBFJGXXGN82", "order-1043", 1130)
REFUND = {
    "amount": {"currency": "EUR", "value": 500},
    "eventCode": "REFUND",
    "eventDate": "2026-01-02T10:00:00+01:00",
    "merchantAccountCode": "AcmeShopECOM",
    "merchantReference": "refund-1042-1",
    "originalReference": "QFQTPCQ8HXSKGK82",
    "paymentMethod": "visa",
    "pspReference": "LDP4BLHWCVL2HH82",
    "success": "true",
}


# --- valid deliveries -------------------------------------------------------------------------


def test_two_item_delivery_yields_one_event_per_item() -> None:
    """GIVEN an AUTHORISATION delivery with two items, each signed by Adyen's library
    WHEN it is verified
    THEN two events come back in order, keyed by (pspReference, eventCode, success,
    originalReference)."""
    raw = body(delivery(sign(FIRST), sign(SECOND)))

    events = PROVIDER.verify(raw, {}, source(), NOW)

    assert [(e.event_id, e.event_type) for e in events] == [
        ("QFQTPCQ8HXSKGK82:AUTHORISATION:true:", "AUTHORISATION"),
        ("ZC4R4RBFJGXXGN82:AUTHORISATION:true:", "AUTHORISATION"),
    ]


def test_each_event_payload_reverifies_on_its_own() -> None:
    """GIVEN a verified two-item delivery
    WHEN each event's payload is wrapped alone in a delivery
    THEN it is the {"NotificationRequestItem": ...} entry's text exactly as sent, still carrying
    its hmacSignature, and both our verifier and Adyen's accept it."""
    signed = sign(SECOND)
    events = PROVIDER.verify(body(delivery(sign(FIRST), signed)), {}, source(), NOW)

    payload = events[1].payload
    entry = json.loads(payload)
    assert payload == json.dumps({"NotificationRequestItem": signed})
    alone = {"live": "false", "notificationItems": [entry]}
    assert PROVIDER.verify(body(alone), {}, source(), NOW)[0].event_id == events[1].event_id
    assert is_valid_hmac_notification(alone, KEY)


def test_known_answer_from_adyens_tests() -> None:
    """GIVEN the item and key of Adyen's test/UtilTest.py (test_notification_request_item_hmac)
    WHEN we compute and verify its signature
    THEN it is Adyen's expected value and the item verifies."""
    item: dict[str, Any] = {
        "pspReference": "7914073381342284",
        "merchantReference": "TestPayment-1407325143704",
        "merchantAccountCode": "TestMerchant",
        "amount": {"currency": "EUR", "value": 1130},
        "eventCode": "AUTHORISATION",
        "success": "true",
        "eventDate": "2019-05-06T17:15:34.121+02:00",
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "additionalData": {"hmacSignature": "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},
    }
    key = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

    assert signing_string(item) == (
        "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    )
    assert compute_signature(bytes.fromhex(key), item) == item["additionalData"]["hmacSignature"]
    events = PROVIDER.verify(body(delivery(item)), {}, source(key), NOW)
    assert events[0].event_id == "7914073381342284:AUTHORISATION:true:"


def _adyen_signed(psp: str, reference: str, signature: str) -> dict[str, Any]:
    """Adyen-signed items from Adyen's test/mocks/util/*_notification.json (additionalData trimmed
    to the signature: it is not signed)."""
    return {
        "additionalData": {"hmacSignature": signature},
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "eventDate": "2023-01-10T13:40:54+01:00",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": reference,
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": psp,
        "success": "true",
    }


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(
            _adyen_signed(
                "M8NB66SBZSGLNK82",
                ":slashes are fun",
                "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=",
            ),
            id="colon",
        ),
        pytest.param(
            _adyen_signed(
                "T7FD4VM4D3RZNN82",
                "\\\\slashes are fun",
                "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo=",
            ),
            id="backslashes",
        ),
    ],
)
def test_separator_and_backslash_are_not_escaped(item: dict[str, Any]) -> None:
    """GIVEN notifications from Adyen's tests whose merchantReference holds ':' or backslashes
    WHEN they are verified with that test key
    THEN they pass: the fields are joined as they are, nothing escaped."""
    key = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"

    assert PROVIDER.verify(body(delivery(item)), {}, source(key), NOW)
    assert is_valid_hmac_notification(item, key)


def test_original_reference_is_signed_and_part_of_the_event_id() -> None:
    """GIVEN a REFUND item that refers to its payment through originalReference
    WHEN it is verified
    THEN it passes (Adyen's library signs it the same way) and its id ends with that reference."""
    events = PROVIDER.verify(body(delivery(sign(REFUND))), {}, source(), NOW)

    assert events[0].event_id == "LDP4BLHWCVL2HH82:REFUND:true:QFQTPCQ8HXSKGK82"
    assert events[0].event_type == "REFUND"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [(0, "0"), (1130, "1130"), (10**15, "1000000000000000"), ("1130", "1130")],
)
def test_amount_value_is_rendered_like_adyens_library(value: object, rendered: str) -> None:
    """GIVEN an item whose amount.value is zero (a zero-value card check), large, or a string
    WHEN we build its signing string and Adyen's library signs it
    THEN the value appears as Adyen renders it (0 stays "0") and the signatures agree."""
    item = dict(FIRST, amount={"currency": "EUR", "value": value})

    theirs = generate_notification_sig(item, KEY).decode("ascii")

    assert f":{rendered}:EUR:" in signing_string(item)
    assert compute_signature(bytes.fromhex(KEY), item) == theirs
    assert PROVIDER.verify(body(delivery(sign(item))), {}, source(), NOW)


def test_failed_notification_is_signed_with_success_false() -> None:
    """GIVEN a refused AUTHORISATION (success "false") signed by Adyen's library
    WHEN it is verified
    THEN it passes and its id says false, so it never collides with a later success."""
    item = dict(FIRST, success="false", reason="Refused")

    events = PROVIDER.verify(body(delivery(sign(item))), {}, source(), NOW)

    assert events[0].event_id == "QFQTPCQ8HXSKGK82:AUTHORISATION:false:"


def test_missing_fields_are_signed_as_empty_strings() -> None:
    """GIVEN an item without originalReference, merchantReference or amount
    THEN each is an empty field in the signing string."""
    item = {
        "pspReference": "X1",
        "merchantAccountCode": "M",
        "eventCode": "REPORT_AVAILABLE",
        "success": "true",
    }

    assert signing_string(item) == "X1::M::::REPORT_AVAILABLE:true"


def test_headers_and_clock_do_not_matter() -> None:
    """GIVEN a valid delivery WHEN verified with any headers, years later THEN it passes."""
    raw = body(delivery(sign(FIRST)))

    assert PROVIDER.verify(raw, {"x-anything": "1"}, source(), NOW + 10**8)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signing_key", [KEY, OLD_KEY])
def test_rotation_accepts_every_configured_key(signing_key: str) -> None:
    """GIVEN a source holding the new and the old HMAC key
    WHEN a two-item delivery is signed with either one
    THEN it verifies."""
    raw = body(delivery(sign(FIRST, signing_key), sign(SECOND, signing_key)))

    assert len(PROVIDER.verify(raw, {}, source(KEY, OLD_KEY), NOW)) == 2


def test_rotation_rejects_a_key_not_in_the_list() -> None:
    """GIVEN a source with two keys WHEN a delivery is signed with a third THEN it is rejected."""
    raw = body(delivery(sign(FIRST, OTHER_KEY)))

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(raw, {}, source(KEY, OLD_KEY), NOW)


# --- forged or damaged deliveries -------------------------------------------------------------


def test_tampered_second_item_rejects_the_whole_delivery() -> None:
    """GIVEN a two-item delivery whose second item's amount was raised after signing
    WHEN it is verified
    THEN the whole delivery is rejected, although Adyen's helper, which checks only the
    first item of a body, accepts it."""
    tampered = sign(SECOND)
    tampered["amount"]["value"] = 113000
    document = delivery(sign(FIRST), tampered)

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(body(document), {}, source(), NOW)
    assert is_valid_hmac_notification(document, KEY)


@pytest.mark.parametrize(
    ("path", "forged"),
    [
        (("pspReference",), "QFQTPCQ8HXSKGK99"),
        (("originalReference",), "ZC4R4RBFJGXXGN82"),
        (("merchantAccountCode",), "OtherShopECOM"),
        (("merchantReference",), "order-9999"),
        (("amount", "value"), 250000),
        (("amount", "currency"), "USD"),
        (("eventCode",), "CAPTURE"),
        (("success",), "false"),
    ],
)
def test_every_signed_field_is_protected(path: tuple[str, ...], forged: object) -> None:
    """GIVEN a signed item WHEN any of its eight signed fields is changed THEN it is rejected."""
    item = sign(FIRST)
    target = item
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = forged

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(body(delivery(item)), {}, source(), NOW)


def test_unsigned_fields_can_change_without_breaking_the_signature() -> None:
    """GIVEN a signed item WHEN a field outside the eight (reason, additionalData) is changed
    THEN it still verifies: this is Adyen's scheme, and why such fields are never trusted."""
    item = sign(FIRST)
    item["reason"] = "anything"
    item["additionalData"]["authCode"] = "000000"

    assert PROVIDER.verify(body(delivery(item)), {}, source(), NOW)


def test_wrong_key_is_rejected() -> None:
    """GIVEN a delivery signed with a key we do not hold WHEN it is verified THEN it is rejected."""
    document = delivery(sign(FIRST, OTHER_KEY))

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(body(document), {}, source(), NOW)
    assert not is_valid_hmac_notification(document, KEY)


@pytest.mark.parametrize(
    "additional_data",
    [
        pytest.param(None, id="no-additionalData"),
        pytest.param({}, id="no-hmacSignature"),
        pytest.param({"hmacSignature": ""}, id="empty"),
        pytest.param({"hmacSignature": None}, id="null"),
        pytest.param({"hmacSignature": 12}, id="number"),
        pytest.param("hmacSignature", id="not-an-object"),
        pytest.param({"hmacSignature": "not base64 é"}, id="garbled"),
    ],
)
def test_unsigned_or_garbled_item_rejects_the_delivery(additional_data: object) -> None:
    """GIVEN a two-item delivery whose second item has no usable hmacSignature
    WHEN it is verified
    THEN the whole delivery is an invalid signature."""
    unsigned = dict(SECOND)
    if additional_data is None:
        unsigned.pop("additionalData")
    else:
        unsigned["additionalData"] = additional_data

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(body(delivery(sign(FIRST), unsigned)), {}, source(), NOW)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"live": "false"}', id="no-items"),
        pytest.param(b'{"live": "false", "notificationItems": []}', id="empty-items"),
        pytest.param(b'{"notificationItems": {"NotificationRequestItem": {}}}', id="not-a-list"),
        pytest.param(b'{"notificationItems": [{"Item": {}}]}', id="wrong-wrapper"),
        pytest.param(b'{"notificationItems": ["x"]}', id="entry-not-object"),
        pytest.param(b'{"notificationItems": [{"NotificationRequestItem": []}]}', id="item-array"),
    ],
)
def test_malformed_delivery_is_malformed(raw: bytes) -> None:
    """GIVEN a body that is not a list of notification items WHEN it is verified THEN malformed."""
    with pytest.raises(MalformedPayload):
        PROVIDER.verify(raw, {}, source(), NOW)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": {"currency": "EUR", "value": 11.3}}, id="float-value"),
        pytest.param({"amount": {"currency": "EUR", "value": True}}, id="bool-value"),
        pytest.param({"amount": "11.30 EUR"}, id="amount-not-object"),
        pytest.param({"success": True}, id="bool-success"),
        pytest.param({"pspReference": ["QFQTPCQ8HXSKGK82"]}, id="list-psp"),
    ],
)
def test_signed_field_of_an_unexpected_type_is_malformed(change: dict[str, Any]) -> None:
    """GIVEN an item whose signed field has a type Adyen never sends (Adyen's libraries would
    each render it differently)
    WHEN it is verified
    THEN it is malformed rather than verified against a guess."""
    item = dict(FIRST, **change)
    item["additionalData"] = {"hmacSignature": "AAAA"}

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body(delivery(item)), {}, source(), NOW)


def test_signed_item_without_psp_reference_is_malformed() -> None:
    """GIVEN a correctly signed item without pspReference
    WHEN it is verified
    THEN it is malformed: it could not be deduplicated."""
    item = {k: v for k, v in FIRST.items() if k != "pspReference"}

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(body(delivery(sign(item))), {}, source(), NOW)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not-hex-at-all", "ABC", ""])
def test_key_that_is_not_hex_is_a_configuration_error(key: str) -> None:
    """GIVEN a source whose HMAC key is not hexadecimal (or empty)
    WHEN a delivery arrives
    THEN it is a configuration error, and the error text does not quote the key."""
    with pytest.raises(ConfigurationError) as raised:
        PROVIDER.verify(body(delivery(sign(FIRST))), {}, source(KEY, key), NOW)

    assert not key or key not in str(raised.value)


# --- classification and registry --------------------------------------------------------------



def test_registry_finds_the_provider() -> None:
    """GIVEN the registry WHEN 'adyen' is looked up THEN this module's PROVIDER is returned."""
    assert get_provider("adyen") is PROVIDER
    assert PROVIDER.name == "adyen"


# --- hostile senders: boundary shifting, field formats, encodings (issue #12) -------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from chalicelib.errors import InvalidEventField  # noqa: E402
from chalicelib.providers.adyen.items import check_item, parse_delivery  # noqa: E402
from chalicelib.providers.adyen.signature import dedupe_key, keyed_hmacs, verify_item  # noqa: E402

# Adyen-signed, from Adyen's test mocks (see test_separator_and_backslash_are_not_escaped): the
# merchantReference starts with ':', the one free field where Adyen lets a ':' through.
ADYEN_TEST_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
GENUINE_COLON = _adyen_signed("M8NB66SBZSGLNK82", ":slashes are fun", "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=")


def our_sign(item: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    """Signed with our own signer: unlike Adyen's library it can sign a lone surrogate."""
    signed = copy.deepcopy(item)
    signed.setdefault("additionalData", {})["hmacSignature"] = compute_signature(bytes.fromhex(key), item)
    return signed


@pytest.mark.parametrize(
    "shift",
    [
        pytest.param({"merchantAccountCode": "AntoniStroinski:", "merchantReference": "slashes are fun"},
                     id="colon-into-merchantAccountCode"),
        pytest.param({"pspReference": "M8NB66SBZSGLNK82:", "originalReference": "AntoniStroinski",
                      "merchantAccountCode": "", "merchantReference": "slashes are fun"},
                     id="new-pspReference-and-originalReference"),
    ],
)
def test_a_genuine_item_with_a_shifted_boundary_is_refused(shift: dict[str, str]) -> None:
    """GIVEN a notification Adyen itself signed, whose merchantReference holds a ':'
    WHEN an attacker moves that ':' to a neighbouring field's boundary (same signing string, so
    Adyen's own signature still verifies, but a new dedupe key: a phantom payment)
    THEN the whole delivery is refused with 400 invalid_event_field, the genuine one still passes."""
    shifted = dict(GENUINE_COLON, **shift)
    keys = keyed_hmacs(source(ADYEN_TEST_KEY))

    assert signing_string(shifted) == signing_string(GENUINE_COLON)
    verify_item(shifted, keys)  # the signature alone cannot tell
    assert is_valid_hmac_notification(shifted, ADYEN_TEST_KEY)
    assert shifted.get("pspReference") != GENUINE_COLON["pspReference"] or "merchantAccountCode" in shift
    with pytest.raises(InvalidEventField) as raised:
        PROVIDER.verify(body(delivery(sign(FIRST, ADYEN_TEST_KEY), shifted)), {}, source(ADYEN_TEST_KEY), NOW)
    assert raised.value.status == 400 and raised.value.code == "invalid_event_field"
    assert PROVIDER.verify(body(delivery(GENUINE_COLON)), {}, source(ADYEN_TEST_KEY), NOW)


def test_shifting_into_original_reference_with_our_key_is_refused() -> None:
    """GIVEN a signed REFUND whose merchantReference is '<a reference>:x'
    WHEN the reference part is moved into merchantAccountCode's place and the account into
    originalReference's (a refund of another payment, same signature)
    THEN it is refused, though its signature verifies."""
    genuine = our_sign(dict(REFUND, merchantReference="ZC4R4RBFJGXXGN82:x"))
    shifted = dict(genuine, originalReference="QFQTPCQ8HXSKGK82:AcmeShopECOM", merchantAccountCode="ZC4R4RBFJGXXGN82",
                   merchantReference="x")
    assert signing_string(shifted) == signing_string(genuine)
    assert dedupe_key(shifted) != dedupe_key(genuine)

    with pytest.raises(InvalidEventField):
        PROVIDER.verify(body(delivery(shifted)), {}, source(), NOW)
    assert PROVIDER.verify(body(delivery(genuine)), {}, source(), NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pspReference": "qfqtpcq8hxskgk82"}, "pspReference"),
        ({"pspReference": "QFQTPCQ8HXSKGK8"}, "pspReference"),
        ({"pspReference": "QFQTPCQ8HXSKGK822"}, "pspReference"),
        ({"pspReference": "QFQTPCQ8HXSKGK8\u00c9"}, "pspReference"),
        ({"pspReference": "QFQTPCQ8HXSKG\ud800K8"}, "pspReference"),
        ({"originalReference": "SHORT"}, "originalReference"),
        ({"originalReference": "QFQTPCQ8HXSKGK82:"}, "originalReference"),
        ({"success": "TRUE"}, "success"),
        ({"success": ""}, "success"),
        ({"eventCode": "AUTHORISATION:true"}, "eventCode"),
        ({"eventCode": "AUTHORISATION\ud800"}, "eventCode"),
        ({"merchantAccountCode": "Acme:Shop"}, "merchantAccountCode"),
        ({"merchantAccountCode": "Acme\udfff"}, "merchantAccountCode"),
        ({"merchantReference": "order-\ud800"}, "merchantReference"),
        ({"amount": {"currency": "EUR", "value": "10:EUR"}}, "amount.value"),
        ({"amount": {"currency": "EU:R", "value": 10}}, "amount.currency"),
        ({"amount": {"currency": "eur", "value": 10}}, "amount.currency"),
        ({"eventDate": "2026-01-01\ud800"}, "eventDate"),
    ],
)
def test_a_signed_item_outside_adyens_formats_is_refused_whole(change: dict[str, Any], field: str) -> None:
    """GIVEN a two-item delivery, both signed with the source's key, the second with a field out of
    Adyen's documented format (or a lone surrogate, valid ASCII JSON that is not text)
    WHEN it is verified
    THEN the whole delivery is refused (400 invalid_event_field) and the error names the field."""
    item = our_sign(dict(SECOND, **change))

    with pytest.raises(InvalidEventField) as raised:
        PROVIDER.verify(body(delivery(sign(FIRST), item)), {}, source(), NOW)
    assert field in raised.value.message


@pytest.mark.parametrize("original", [None, ""])
def test_no_original_reference_is_absent_null_or_empty(original: str | None) -> None:
    """GIVEN an AUTHORISATION with originalReference null or "" (both sign as absent) THEN it passes."""
    assert PROVIDER.verify(body(delivery(our_sign(dict(FIRST, originalReference=original)))), {}, source(), NOW)


@pytest.mark.parametrize("field", ["pspReference", "merchantReference", "eventCode", "success"])
def test_an_unsigned_lone_surrogate_is_an_invalid_signature_not_a_crash(field: str) -> None:
    """GIVEN an item with a forged signature and "\\ud800" (valid ASCII JSON) in a signed field
    WHEN it is verified
    THEN it is a 401 invalid signature: nothing crashes encoding it before the HMAC check."""
    item = dict(FIRST, **{field: "X\ud800"}, additionalData={"hmacSignature": "AAAA"})
    raw = json.dumps(delivery(item)).encode("ascii")
    assert b"\\ud800" in raw

    with pytest.raises(InvalidSignature):
        PROVIDER.verify(raw, {}, source(), NOW)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: "\ufeff".encode() + text.encode(), id="utf8-bom"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf16"),
        pytest.param(lambda text: text.encode("utf-32-le"), id="utf32"),
        pytest.param(lambda text: text.replace("order-1042", "order-\ud800").encode("utf-8", "surrogatepass"),
                     id="encoded-surrogate"),
    ],
)
def test_the_body_is_strict_utf8_without_bom(encode: Any) -> None:
    """GIVEN a correctly signed delivery sent as UTF-8 with a BOM, UTF-16, UTF-32 or with an
    encoded surrogate (all of which json.loads on bytes accepts)
    WHEN it is verified THEN it is malformed: one decoding rule for every provider."""
    text = json.dumps(delivery(sign(FIRST)))

    with pytest.raises(MalformedPayload):
        PROVIDER.verify(encode(text), {}, source(), NOW)


def test_stored_payload_is_the_item_as_sent_and_never_grows() -> None:
    """GIVEN a delivery sent as UTF-8 with non-ASCII text in its items ("€" is 3 bytes)
    WHEN it is verified
    THEN each payload is its entry's text as sent (a slice of the body), so the payloads
    together are no larger than the body; the old ASCII-escaped re-serialisation was."""
    first = our_sign(dict(FIRST, merchantReference="Bestellung-€€€€-Größe", reason="Zahlung ✓"))
    second = our_sign(dict(SECOND, merchantReference="注文-1043"))
    raw = json.dumps(delivery(first, second), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text = raw.decode("utf-8")

    events = PROVIDER.verify(raw, {}, source(), NOW)

    sizes = [len(event.payload.encode("utf-8")) for event in events]
    assert all(event.payload in text for event in events)
    assert sum(sizes) <= len(raw)
    escaped = json.dumps({"NotificationRequestItem": first}, separators=(",", ":"))  # what was stored before
    assert sizes[0] < len(escaped.encode("utf-8"))
    assert json.loads(events[0].payload) == {"NotificationRequestItem": first}


def test_merchant_account_pin_refuses_other_accounts() -> None:
    """GIVEN a source pinned to merchant account AcmeShopECOM (option merchantAccountCode)
    WHEN a delivery signed with its key carries an item for another account (or none)
    THEN it is refused whole (400); its own account's items pass."""
    pinned = SourceConfig(
        name="adyen", provider="adyen", secrets=(KEY,), options={"merchantAccountCode": "AcmeShopECOM"}
    )
    other = our_sign(dict(SECOND, merchantAccountCode="OtherShopECOM"))
    missing = our_sign({k: v for k, v in SECOND.items() if k != "merchantAccountCode"})

    assert len(PROVIDER.verify(body(delivery(sign(FIRST), sign(SECOND))), {}, pinned, NOW)) == 2
    for item in (other, missing):
        with pytest.raises(InvalidEventField):
            PROVIDER.verify(body(delivery(sign(FIRST), item)), {}, pinned, NOW)
    assert "merchantAccountCode" in PROVIDER.options


@pytest.mark.parametrize("option", [12, "", "Acme:Shop", ["AcmeShopECOM"]])
def test_a_bad_merchant_account_pin_is_a_configuration_error(option: object) -> None:
    source_config = SourceConfig(
        name="adyen", provider="adyen", secrets=(KEY,), options={"merchantAccountCode": option}
    )

    with pytest.raises(ConfigurationError) as raised:
        PROVIDER.verify(body(delivery(sign(FIRST))), {}, source_config, NOW)
    assert str(raised.value) == "source 'adyen': 'merchantAccountCode' must be a merchant account name"  # no value


@pytest.mark.parametrize(
    "text",
    [
        ' \n{ "live" : "false" , "notificationItems" : [ {"a": 1} , [2] , "x" ] }\r\n',
        '{"notificationItems": [1], "notificationItems": [{"b": 2}]}',
        '{"notificationItems": [1], "notificationItems": 5}',
        '{"notificationItems": []}',
        "{}",
        '{"a": {"notificationItems": [1]}, "notificationItems": [{"c": [3]}]}',
    ],
)
def test_parse_delivery_reads_as_json_loads_and_keeps_each_items_text(text: str) -> None:
    document, entries = parse_delivery(text)

    assert document == json.loads(text)
    items = document.get("notificationItems")
    if isinstance(items, list):
        assert entries is not None and [json.loads(entry) for entry in entries] == items
        assert all(entry in text for entry in entries)
    else:
        assert entries is None


@pytest.mark.parametrize(
    "text", ["", "[]", "{", '{"a" 1}', '{"a": 1,}', '{1: 2}', '{"a": 1} x', '{"notificationItems": [1,]}',
             '{"notificationItems": [1 2]}', '{"a": 1 "b": 2}', "[" * 100_000],
)
def test_parse_delivery_refuses_what_json_loads_refuses(text: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_delivery(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)


@given(
    document=st.dictionaries(st.sampled_from(["live", "notificationItems", "x", ""]), JSON_VALUES, max_size=4),
    items=st.one_of(st.none(), st.lists(JSON_VALUES, max_size=4)),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
)
def test_parse_delivery_agrees_with_json_loads(document: dict[str, Any], items: list[Any] | None,
                                               indent: int | None, ascii_only: bool) -> None:
    if items is not None:
        document["notificationItems"] = items
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)

    parsed, entries = parse_delivery(text)

    assert parsed == json.loads(text)
    if items is not None:
        assert entries is not None and [json.loads(entry) for entry in entries] == items


def test_check_item_accepts_adyens_own_test_notifications() -> None:
    """The items of Adyen's tests above are in Adyen's formats (so the checks are not too strict)."""
    for item in (FIRST, SECOND, REFUND, GENUINE_COLON):
        check_item(item, None)
