"""Frozen preset dictionaries for compressing stored payloads, one file per name and version.

``<name>-<version>.bin`` here was built by ``python -m providers_tooling.dictionaries`` from the
real payload corpus (tests/fixtures/providers/). A record compressed with one names it in its
encoding (``zlib-dict:stripe-1``), and zlib cannot inflate it without exactly those bytes: a file
here therefore never changes once committed (its SHA-256 is pinned below and checked on every
load), and no version is ever removed. A better dictionary is a new version; :data:`CURRENT` says
which version new records are written with.

Files are read lazily, once per process and name: a receiver that only ever sees Stripe never
reads Adyen's dictionary, and one that stores only records under a write unit reads none
(bench/coldstart.py; reading and checking one costs a few tens of microseconds).
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from pathlib import Path

FOLDER = Path(__file__).resolve().parent

PINNED: dict[str, str] = {
    "adyen-1": "38e203ad20c8d5febd9641f93af0cee50b27568d4673bbacce5d18cf02d1ea19",
    "gocardless-1": "1d8cb13deb079f26ba8de56fe1fe9eed4f52cbb5c029d07896649bb98188593f",
    "payments-1": "74a0ad671b8ad9f2bd925ff25f20b58bc1c69df8148d88c52dfb68638d99a485",
    "paypal-1": "c3b4d7ce15126fdc8e3bc46697f317ce9c3702f13d391847dbba219a297b70d8",
    "paypal-2": "9f1e1cdbc15964e24f3b7592eb7a14e8c81ef7e6a01e6bcaeea7053d2e47cf0a",
    "razorpay-1": "8caf793eb8cfc7cfd570e38bafc6491e0de86daa4913288545c7c6c9312aa230",
    "square-1": "ce6b9c365cafad64ea9c1d322720fe6831b4e4f2e7ec62481105001107ed3d85",
    "stripe-1": "a8ab9f3a57fe3d52d3b74355f6fb11b0d90281fc383fe6e47f4b88370c4396dc",
}
"""Every dictionary that records may name, with the SHA-256 of its bytes. Append only.
``payments-1`` is the payment records' (chalicelib/payments/record.py); the others are providers'.
``paypal-2`` (recipe 2: eleven corpus payloads, the shared segments of PayPal's link URLs, and its
delivery headers' skeleton, for records that carry their headers in the payload's value) took
PayPal's records from about 930 to 740 bytes, into one write unit with the final update."""

CURRENT: dict[str, str] = {
    "adyen": "adyen-1",
    "gocardless": "gocardless-1",
    "paypal": "paypal-2",
    "razorpay": "razorpay-1",
    "square": "square-1",
    "stripe": "stripe-1",
}
"""The dictionary new records of each provider are compressed with. A provider without one (the
Standard Webhooks provider has no corpus) is compressed with plain zlib."""

_loaded: dict[str, bytes] = {}
_lock = threading.Lock()


class UnknownDictionary(ValueError):
    """A record names a dictionary this code does not have, or a file does not match its pin."""


def load(name: str) -> bytes:
    """The bytes of dictionary ``name`` (``stripe-1``), read and checked on first use."""
    found = _loaded.get(name)
    if found is not None:
        return found
    pinned = PINNED.get(name)
    if pinned is None:
        raise UnknownDictionary(f"unknown compression dictionary {name!r}")
    data = (FOLDER / f"{name}.bin").read_bytes()
    if hashlib.sha256(data).hexdigest() != pinned:
        # Inflating with other bytes than the record was written with gives garbage or an error:
        # refuse up front, whatever changed the file.
        raise UnknownDictionary(f"compression dictionary {name!r} does not match its pinned SHA-256")
    with _lock:
        _loaded[name] = data
    return data


def loaded() -> frozenset[str]:
    """The names read so far in this process (what a cold start has paid for)."""
    return frozenset(_loaded)


def current(provider: str) -> str | None:
    """The dictionary name new records of ``provider`` are written with, or None."""
    return CURRENT.get(provider)


COMPRESSION_LEVEL = 6
"""zlib's default: on documents of 1-3 KB, level 9 saves a byte or two for twice the CPU."""


def compress(data: bytes, name: str | None) -> bytes:
    """``data`` as a zlib stream, with preset dictionary ``name`` when one is given."""
    if name is None:
        return zlib.compress(data, COMPRESSION_LEVEL)
    compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, zdict=load(name))
    return compressor.compress(data) + compressor.flush()


def decompress(data: bytes, name: str | None) -> bytes:
    """The bytes :func:`compress` was given, or ``zlib.error`` / :class:`UnknownDictionary`.

    The stream must be whole and end where the value ends: a truncated or padded value is an
    error, never a shorter payload. (zlib's Adler-32 trailer checks the bytes themselves.)
    """
    if name is None:
        return zlib.decompress(data)
    inflater = zlib.decompressobj(zlib.MAX_WBITS, zdict=load(name))
    out = inflater.decompress(data) + inflater.flush()
    if not inflater.eof or inflater.unused_data:
        raise zlib.error("incomplete or padded compressed value")
    return out
