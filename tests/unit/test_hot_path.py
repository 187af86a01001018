"""The request path's shortcuts (docs/PERFORMANCE.md) give exactly what the plain code gave."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import log
from chalicelib.encoding import compact_json
from chalicelib.errors import MalformedPayload
from chalicelib.providers._helpers import derived, hmac_sha256, hmac_sha256_after, keyed_hmac, parse_json_object
from chalicelib.providers.contract import SourceConfig
from chalicelib.queue import message_body
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import (
    WebhookRecord,
    WebhookStatus,
    payload_digest,
    received_item,
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def plain_timestamp(unix_seconds: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix_seconds))
    return f"{seconds}.{int(unix_seconds % 1 * 1000):03d}Z"


@given(st.lists(st.floats(min_value=0, max_value=4e9), min_size=1, max_size=20))
def test_cached_timestamps_are_the_plain_ones(moments: list[float]) -> None:
    # Repeats, and moments a fraction of a millisecond apart, hit the cache.
    for moment in moments + [moments[0], moments[0] + 0.0001]:
        assert iso_timestamp(moment) == plain_timestamp(moment)


@given(JSON_VALUES)
def test_compact_json_is_the_standard_encoder(value: object) -> None:
    assert compact_json(value) == json.dumps(value, separators=(",", ":"))


@given(st.text())
def test_queue_messages_are_json(webhook_id: str) -> None:
    assert json.loads(message_body(webhook_id)) == {"webhookId": webhook_id}


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', ' \n{"a": [1, 2]}\t\r', '{"a": 1} x', '{"a": 1}{}', "[1]", "1", "", " ", "\ufeff{}",
     '{"a": NaN}', '{"a": 1,}', '"x"', "null", '{"a": 1}\x0c'],
)
def test_parsing_text_accepts_and_refuses_what_json_loads_does(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        expected = None
    if isinstance(expected, dict):
        assert parse_json_object(text) == expected
    else:
        with pytest.raises(MalformedPayload):
            parse_json_object(text)


def test_a_received_item_reads_back_as_the_record_it_was_built_from() -> None:
    item = received_item("wh_1", "stripe-eu", "stripe", "evt_1", "charge.succeeded", '{"id":"evt_1"}',
                         "2024-02-15T12:00:00.000Z", 1_700_000_000)
    record = WebhookRecord.from_item(item)
    assert record == WebhookRecord(
        webhook_id="wh_1", source="stripe-eu", provider="stripe", event_id="evt_1", event_type="charge.succeeded",
        payload='{"id":"evt_1"}', received_at="2024-02-15T12:00:00.000Z", status=WebhookStatus.RECEIVED,
        expires_at=1_700_000_000,
        payload_sha256=payload_digest('{"id":"evt_1"}'),
    )
    assert record.to_item() == item
    # No index attributes: the table stream queues a new record (chalicelib/outbox.py)
    assert not {"sweepKey", "sweepAt", "sweeps"} & set(item)


def test_a_keyed_hmac_gives_the_plain_hmac_and_is_reusable() -> None:
    keyed = keyed_hmac(b"key", b"prefix.")
    for body in (b"one", b"two", b""):
        assert hmac_sha256_after(keyed, body) == hmac_sha256(b"key", b"prefix." + body)


def test_derived_values_are_made_once_per_configuration_and_errors_are_not_kept() -> None:
    made: list[str] = []

    def build(source: SourceConfig) -> str:
        made.append(source.name)
        if source.secrets == ("bad",):
            raise ValueError("bad")
        return source.secrets[0].upper()

    good, bad = SourceConfig("a", "stripe", ("s",)), SourceConfig("b", "stripe", ("bad",))
    assert derived(good, build) == derived(good, build) == "S"
    for _ in range(2):
        with pytest.raises(ValueError):
            derived(bad, build)
    # A new configuration object (a reload) derives again; equal configurations compare equal.
    reloaded = SourceConfig("a", "stripe", ("s",))
    assert derived(reloaded, build) == "S" and reloaded == good
    assert made == ["a", "b", "b", "a"]


def test_log_lines_keep_their_shape() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        log.info("webhook received", source="stripe", outcome="accepted", webhookIds=("wh_1",), absent=None)
        log.error("no fields")
        log.warning("shadowing", timestamp="other")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert list(lines[0]) == ["level", "message", "timestamp", "source", "outcome", "webhookIds"]
    assert lines[0]["webhookIds"] == ["wh_1"]
    assert lines[1] == {"level": "ERROR", "message": "no fields", "timestamp": lines[1]["timestamp"]}
    assert lines[2]["timestamp"] == "other"
