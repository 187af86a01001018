"""The verifiers' JSON parse: msgspec's decoder first, ``json`` for whatever it refuses, and the
result always exactly what ``json`` alone makes of the text, or ``json``'s refusal
(chalicelib/providers/_helpers.py ``parse_json_object``, and ``parse_object_with_element_texts``
for the bodies that carry several events, with each one's text as sent).

Compared by ``repr``: ``==`` would call ``1`` and ``1.0``, ``True`` and ``1``, ``0.0`` and ``-0.0``
the same, and would not see the order of keys.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import MalformedPayload
from chalicelib.providers._helpers import (
    parse_json_object,
    parse_json_object_as_json,
    parse_object_with_element_texts,
    parse_object_with_element_texts_as_json,
)

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
JSON_WHITESPACE = " \t\n\r"
# Near-JSON characters: what a mutation of a document inserts, to find the edges of both parsers
NEAR_JSON = '{}[]",:0123456789.eE+-truefalsn \t\n\r\x0c\xa0\\u/"'


def outcome(parse: Any, text: str) -> tuple[str, str]:
    try:
        return "parsed", repr(parse(text))
    except MalformedPayload as exc:
        return "refused", str(exc)


def assert_same_as_json(text: str) -> None:
    assert outcome(parse_json_object, text) == outcome(parse_json_object_as_json, text), text[:200]


def assert_elements_same_as_json(text: str, key: str = "items") -> None:
    ours = outcome(lambda body: parse_object_with_element_texts(body, key), text)
    assert ours == outcome(lambda body: parse_object_with_element_texts_as_json(body, key), text), text[:200]


scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)  # past 64 bits both ways
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)  # json writes NaN / Infinity; msgspec refuses them
    | st.text()
    # lone surrogates: json reads their escapes, msgspec refuses them
    | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A JSON text as a provider might write it: an object (mostly) holding any value, in compact
    or spaced form, escaped to ASCII or not, with whitespace (JSON's or not) around it."""
    value = draw(values)
    if draw(st.booleans()):
        value = {draw(st.text(max_size=5)): value, "id": "evt_1"}
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), None])),
    )
    around = st.text(st.sampled_from(JSON_WHITESPACE + "\x0c\xa0"), max_size=2)
    return draw(around) + text + draw(around)


@settings(max_examples=400, deadline=None)
@given(documents())
def test_any_document_parses_exactly_as_json_parses_it(text: str) -> None:
    assert_same_as_json(text)


@st.composite
def damaged(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> str:
    """One of ``texts`` with a few near-JSON characters put in somewhere, at times in a character's place."""
    text = draw(texts)
    at = draw(st.integers(min_value=0, max_value=len(text)))
    insert = draw(st.text(st.sampled_from(NEAR_JSON), max_size=3))
    return text[:at] + insert + text[at + (1 if draw(st.booleans()) else 0):]


@settings(max_examples=400, deadline=None)
@given(damaged(documents()))
def test_a_damaged_document_is_refused_or_read_exactly_as_json_does(text: str) -> None:
    assert_same_as_json(text)


@pytest.mark.parametrize("text", [
    '{"amount": 123456789012345678901234567890}',  # beyond 64 bits: exact, not a float
    '{"amount": -9223372036854775809, "b": 18446744073709551616}',
    '{"a": "\\ud800"}', '{"a": NaN}', '{"a": -Infinity}', '{"a": 1e400}',  # json takes them; msgspec does not
    '{"a": 1, "b": 2, "a": 3}',  # the last of duplicate keys wins, in the first one's place
    '{"a": -0}', '{"a": -0.0}', '{"a": 5e-324}', '{"a": 0.30000000000000004}',
    '{"a": 1' + "0" * 5000 + "}",  # more digits than Python converts: refused by both
    "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000,  # nesting too deep: refused by both
    '\ufeff{"a": 1}', ' \x0c{"a": 1}', '\xa0{"a": 1}', '{"a": 1} x', '{"a": 1,}', '[1]', '"text"', "", " ",
    '{"a": "\x01"}', '{"a": "\\x41"}', '{"a": 01}', '{"a": .5}', '{"a": +1}', '{"a": tru}',
])
def test_edges_of_either_parser_come_out_as_json_has_them(text: str) -> None:
    assert_same_as_json(text)


def test_big_integers_stay_integers() -> None:
    document = parse_json_object('{"amount": 123456789012345678901234567890}')
    assert document == {"amount": 123456789012345678901234567890}
    assert isinstance(document["amount"], int)
    assert math.isnan(parse_json_object('{"a": NaN}')["a"])  # what json reads, read as json reads it


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/*.json")), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_provider_payload_of_the_corpus_parses_as_json_parses_it(path: Path) -> None:
    entry = json.loads(path.read_text(encoding="utf-8"))
    for text in (json.dumps(entry["payload"]), json.dumps(entry["payload"], ensure_ascii=False, indent=2)):
        assert_same_as_json(text)


@st.composite
def deliveries(draw: st.DrawFn) -> str:
    """A body carrying several events under ``items`` (as Adyen's ``notificationItems``), at times
    twice, at times not an array, spaced or compact, as :func:`documents` writes them."""
    fields: list[tuple[str, Any]] = [("items", draw(st.lists(values, max_size=4)))]
    if draw(st.booleans()):
        fields.append(("live", draw(values)))
    if draw(st.integers(0, 3)) == 0:
        fields.insert(draw(st.integers(0, len(fields))), ("items", draw(values)))  # a duplicate key
    pieces = [json.dumps(key) + draw(st.sampled_from([":", ": ", " : "]))
              + json.dumps(value, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))
              for key, value in fields]
    return "{" + draw(st.sampled_from([",", ", ", ",\n  "])).join(pieces) + "}"


@settings(max_examples=400, deadline=None)
@given(deliveries())
def test_any_delivery_gives_the_document_and_the_elements_texts_as_json_does(text: str) -> None:
    assert_elements_same_as_json(text)


@settings(max_examples=300, deadline=None)
@given(damaged(deliveries()))
def test_a_damaged_delivery_is_refused_or_read_as_json_does(text: str) -> None:
    assert_elements_same_as_json(text)


@pytest.mark.parametrize("text", [
    '{"items": [ {"a": 1} , [2, 3] , "x" ], "b": 2}', '{"items": [1], "items": [2, 3]}',
    '{"items": 1, "items": [2]}', '{"items": [2], "items": 1}', '{"b": 1}', '{"items": []}', "[1]", "",
    '{"items": ["\\ud800", NaN, 1e400, 123456789012345678901234567890]}', '{"items": [1,]}',
])
def test_delivery_edges_come_out_as_json_has_them(text: str) -> None:
    assert_elements_same_as_json(text)


@pytest.mark.parametrize("provider", ["adyen", "gocardless"])
def test_the_corpus_deliveries_keep_each_events_text_as_json_does(provider: str) -> None:
    key = {"adyen": "notificationItems", "gocardless": "events"}[provider]
    for path in sorted((CORPUS / provider).glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))["payload"]
        body = json.dumps({key: [payload], "live": "false"}, indent=2)
        assert_elements_same_as_json(body, key)
