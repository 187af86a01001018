"""The transmission-time window: how old (or how far ahead) a signed PayPal transmission may be.

PayPal signs ``paypal-transmission-time`` together with the transmission id and a CRC32 of the
body. CRC32 does not bind the body (another body with the same CRC32 verifies under the genuine
headers, see docs/RELIABILITY.md, "Hostile senders: PayPal"), so a captured transmission must stop
being usable: a time older than the source's ``toleranceSeconds``, or more than
:data:`FUTURE_SKEW_SECONDS` ahead of our clock, is refused with
:class:`~chalicelib.errors.SignatureExpired` (401 ``signature_expired``).

The window must still admit PayPal's own retries (25 over 3 days). PayPal does not document
whether a retry is signed afresh, so the default assumes it is not (the first transmission's
headers are re-sent) and spans the retry horizon: ``DEFAULT_TOLERANCE_SECONDS`` is 4 days, which
:mod:`chalicelib.sources` applies to PayPal sources (the most a PayPal source may configure).
Within the window, ingest binds each transmission id to one body.
"""

from __future__ import annotations

import re
from datetime import datetime

from chalicelib.errors import InvalidSignature, SignatureExpired
from chalicelib.providers.paypal import messages

DEFAULT_TOLERANCE_SECONDS = 4 * 24 * 3600
"""PayPal's retry horizon (3 days) plus a day of slack; also the largest value a source may set."""
FUTURE_SKEW_SECONDS = 300
"""How far ahead of our clock a transmission may claim to be (clock skew, not retries)."""

# RFC 3339 date-time as PayPal sends it ("2017-03-30T20:04:05Z"), optionally with fractional
# seconds or a numeric offset. Strict, so what we parse is what PayPal signed.
_RFC3339 = re.compile(
    r"(?P<seconds>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})",
    re.ASCII,  # \d is [0-9] only: "２０２６" is not a year
)


def parse_transmission_time(value: str) -> float:
    """``paypal-transmission-time`` as a Unix time; :class:`InvalidSignature` when it is not an
    RFC 3339 date-time with a zone (no time could ever be inside the window)."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise InvalidSignature(messages.INVALID_TIME)
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    try:
        seconds = datetime.fromisoformat(match["seconds"] + zone).timestamp()
    except ValueError:  # month 13, day 32, hour 25, offset +99:00...
        raise InvalidSignature(messages.INVALID_TIME) from None
    return seconds + (int(match["fraction"]) / 10 ** len(match["fraction"]) if match["fraction"] else 0.0)


def check_transmission_time(transmitted_at: float, now: float, tolerance_seconds: int) -> None:
    """Refuse a transmission older than ``tolerance_seconds`` or from beyond a small skew ahead."""
    future_skew = min(FUTURE_SKEW_SECONDS, tolerance_seconds)
    if now - transmitted_at > tolerance_seconds or transmitted_at - now > future_skew:
        raise SignatureExpired()
