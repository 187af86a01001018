"""Every text PayPal's verification shows to a sender or writes in a configuration error.

In one place so that what a refusal may say is reviewed once: none of them carries a value from
the request, the configuration or an exception (they are safe to show to anyone).
"""

from __future__ import annotations

# Refusals (InvalidSignature, 401)
REFUSED_URL = "The certificate URL is not allowed."
UNTRUSTED = "The signing certificate is not trusted."
NOT_CURRENT = "The signing certificate is not valid at this time."
WRONG_SUBJECT = "The signing certificate is not a PayPal message-verification certificate."
INVALID_TIME = "The transmission time is not an RFC 3339 date-time."

# A dependency failure (DependencyUnavailable, 503: PayPal retries)
UNAVAILABLE = "The signing certificate could not be fetched right now; retry later."
FETCH_BUDGET_SPENT = "Too many signing certificates were fetched recently; retry later."

# Configuration errors (the option's name, never its value)
NO_WEBHOOK_ID = "PayPal source {source!r} has no webhook id."
NOT_A_NAME_LIST = "PayPal option '{option}' must be a non-empty list of names."
NOT_BARE_HOST_NAMES = "PayPal option '{option}' must list bare host names."
NOT_PEM = "PayPal option '{option}' must be PEM certificate text."
NOT_A_BOOLEAN = "PayPal option '{option}' must be a boolean."
BAD_PEM = "PayPal {option} is not valid PEM certificate text."
NO_TRUST_ROOT = "PayPal trustRootsPem holds no certificate."
