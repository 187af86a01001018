"""The shared provider helpers that carry a security property: the keyed HMAC and the hex body check."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import InvalidSignature
from chalicelib.providers._helpers import hmac_sha256_after, keyed_hmac, require_hex_body_hmac

BODY = b'{"events":[{"id":"EV123","created_at":"2026-01-01T00:00:00.000Z"}]}'


@pytest.mark.parametrize("length", [0, 1, 31, 32, 63, 64, 65, 127, 128, 200])
def test_the_keyed_hmac_is_rfc_2104_for_keys_shorter_equal_and_longer_than_the_block(length: int) -> None:
    # 64 bytes is SHA-256's block: a longer key is hashed first, a shorter one padded
    key = bytes(range(256))[:length]
    keyed = keyed_hmac(key, b"https://example.com/hook")
    assert hmac_sha256_after(keyed, BODY) == hmac.digest(key, b"https://example.com/hook" + BODY, "sha256")


@given(key=st.binary(max_size=150), prefix=st.binary(max_size=100), message=st.binary(max_size=300))
def test_the_keyed_hmac_matches_the_standard_library(key: bytes, prefix: bytes, message: bytes) -> None:
    assert hmac_sha256_after(keyed_hmac(key, prefix), message) == hmac.digest(key, prefix + message, "sha256")


def test_a_keyed_hmac_is_never_changed_by_use() -> None:
    # made once per source configuration and shared by every delivery (and thread)
    keyed = keyed_hmac(b"secret")
    first = hmac_sha256_after(keyed, b"one")
    hmac_sha256_after(keyed, b"two")
    assert hmac_sha256_after(keyed, b"one") == first == hmac.digest(b"secret", b"one", "sha256")


KEYS = (keyed_hmac(b"old secret"), keyed_hmac(b"new secret"))


@pytest.mark.parametrize("secret", [b"old secret", b"new secret"])
def test_a_hex_body_hmac_under_any_configured_key_passes(secret: bytes) -> None:
    require_hex_body_hmac(KEYS, BODY, hmac.digest(secret, BODY, "sha256").hex())


@pytest.mark.parametrize("received", [
    hmac.digest(b"other secret", BODY, "sha256").hex(),  # another key
    hmac.digest(b"new secret", BODY + b" ", "sha256").hex(),  # another body
    hmac.digest(b"new secret", BODY, "sha256").hex().upper(),  # compared as sent: lower-case hex
    hmac.digest(b"new secret", BODY, "sha256").hex()[:-1],  # truncated
    "é" * 64,  # non-ASCII: never a match, never an error
    "",
], ids=["other-key", "other-body", "upper-case", "truncated", "non-ascii", "empty"])
def test_anything_else_is_an_invalid_signature(received: str) -> None:
    with pytest.raises(InvalidSignature):
        require_hex_body_hmac(KEYS, BODY, received)
