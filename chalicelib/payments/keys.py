"""How payment items are told apart in the shared table: tiny, so the audit can import it cheaply."""

from __future__ import annotations

PAYMENT_ITEM_TYPE = "payment"
ALIAS_ITEM_TYPE = "payment-alias"
KEY_PREFIX = "payment#"


def item_key(payment_key: str) -> str:
    """The table key of a payment record: ``payment#<provider>:<payment id>``."""
    return KEY_PREFIX + payment_key
