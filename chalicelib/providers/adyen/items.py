"""An Adyen delivery's items with the text each was sent as, and the formats their fields must have.

Why the text: each item is stored on its own, and storing a re-serialisation would store
something that was not sent (and ASCII escaping made it grow: 4 bytes of "€" in 12 of ``\\u20ac``),
so the body is parsed once while noting where each ``notificationItems`` element starts and ends
(:func:`chalicelib.providers._helpers.parse_object_with_element_texts`).

Why the formats: the HMAC covers eight fields joined with ``:`` and nothing escaped, so moving a
``:`` from one field to its neighbour keeps a genuine signature valid while changing the
references we deduplicate and key payments on (a phantom payment). Joined fields can be split
back in one way only if every field but one cannot hold a ``:``; Adyen's own formats give exactly
that: ``pspReference`` and ``originalReference`` are 16 upper-case alphanumerics, ``eventCode`` a
code, ``success`` ``true`` or ``false``, the amount an integer and an ISO currency code, the
merchant account a name without ``:``. ``merchantReference`` (the merchant's own text) is the one
free field, and it may hold ``:`` (Adyen's test notifications do).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import ConfigurationError, InvalidEventField
from chalicelib.providers._helpers import parse_object_with_element_texts

ITEMS_KEY = "notificationItems"
MERCHANT_ACCOUNT_OPTION = "merchantAccountCode"
AUTO_CAPTURE_OPTION = "autoCapture"
"""Source option: the merchant account captures automatically (Adyen then sends no CAPTURE
webhooks), so a successful AUTHORISATION is the payment's capture (read by the normalizer)."""
PSP_REFERENCE = re.compile(r"[A-Z0-9]{16}")
CURRENCY = re.compile(r"[A-Z]{3}")
AMOUNT_DIGITS = re.compile(r"-?[0-9]+")
def parse_delivery(text: str) -> tuple[dict[str, Any], list[str] | None]:
    """The body as one JSON object, and the text of each ``notificationItems`` element."""
    return parse_object_with_element_texts(text, ITEMS_KEY)


def _encodable(value: str) -> bool:
    """False for text holding a lone surrogate (``"\\ud800"`` is valid JSON, not valid UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(field: str, rule: str) -> InvalidEventField:
    return InvalidEventField(f"Adyen notification item: {field} {rule}.")


def merchant_account(options: Mapping[str, Any], source_name: str) -> str | None:
    """The merchant account a source is pinned to (option ``merchantAccountCode``), or None."""
    pinned = options.get(MERCHANT_ACCOUNT_OPTION)
    if pinned is None:
        return None
    if not isinstance(pinned, str) or not pinned or ":" in pinned or not _encodable(pinned):
        raise ConfigurationError(
            f"source {source_name!r}: {MERCHANT_ACCOUNT_OPTION!r} must be a merchant account name"
        )
    return pinned


def check_item(item: Mapping[str, Any], pinned_account: str | None) -> None:
    """Refuse (400 ``invalid_event_field``) an item whose signed fields are not in Adyen's formats.

    Run on verified items: an unsigned sender learns nothing but "invalid signature".
    """
    psp = item.get("pspReference")
    if not isinstance(psp, str) or not PSP_REFERENCE.fullmatch(psp):
        raise _refuse("pspReference", "must be 16 upper-case letters and digits")
    original = item.get("originalReference")
    # Absent, null and "" sign (and deduplicate) alike: all three mean "no original".
    if original not in (None, "") and not (isinstance(original, str) and PSP_REFERENCE.fullmatch(original)):
        raise _refuse("originalReference", "must be 16 upper-case letters and digits when present")
    code = item.get("eventCode")
    if not isinstance(code, str) or not code or ":" in code or not _encodable(code):
        raise _refuse("eventCode", "must be a non-empty code without ':'")
    if item.get("success") not in ("true", "false"):
        raise _refuse("success", 'must be "true" or "false"')
    account = item.get("merchantAccountCode")
    if account is not None and (not isinstance(account, str) or ":" in account or not _encodable(account)):
        raise _refuse("merchantAccountCode", "must be a name without ':'")
    if pinned_account is not None and account != pinned_account:
        raise _refuse("merchantAccountCode", "is not the merchant account this source is bound to")
    reference = item.get("merchantReference")
    if reference is not None and (not isinstance(reference, str) or not _encodable(reference)):
        raise _refuse("merchantReference", "must be text")
    amount = item.get("amount")
    if amount is not None:
        value = amount.get("value") if isinstance(amount, dict) else None
        currency = amount.get("currency") if isinstance(amount, dict) else None
        # signature.signed_field already refused any other type; a string amount must be digits.
        if isinstance(value, str) and not AMOUNT_DIGITS.fullmatch(value):
            raise _refuse("amount.value", "must be an integer")
        if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
            raise _refuse("amount.currency", "must be a three-letter currency code")
    event_date = item.get("eventDate")  # not signed, but read to order events
    if isinstance(event_date, str) and not _encodable(event_date):
        raise _refuse("eventDate", "must be text")
