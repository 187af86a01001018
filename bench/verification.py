"""Figure 1: verification cost per provider, our verifier against the official library's.

Both sides do the same job on the same signed payload: prove it genuine and hand back the parsed
event. Where an official helper only checks the signature (Adyen, Square), the JSON parse a
receiver must do next is added to its side, so the ratio compares equal work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.timing import Comparison, compare
from chalicelib.providers import get_provider
from chalicelib.providers.base import SourceConfig
from ops import signing
from tests import samples

BUDGET = 1.0


@dataclass(frozen=True)
class VerificationCase:
    provider: str
    ours: Callable[[], object]
    theirs: Callable[[], object]
    official: str


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def stripe_case(now: int) -> VerificationCase:
    import stripe

    body, headers = samples.stripe_delivery(samples.stripe_event(), timestamp=now)
    source = SourceConfig("stripe", "stripe", (samples.STRIPE_SECRET,))
    provider = get_provider("stripe")
    payload = body.decode()
    return VerificationCase(
        "stripe",
        lambda: provider.verify(body, lower(headers), source, now),
        lambda: stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], samples.STRIPE_SECRET),
        "stripe.Webhook.construct_event",
    )


def standard_case(now: int) -> VerificationCase:
    from standardwebhooks.webhooks import Webhook

    body, headers = samples.standard_delivery(timestamp=now)
    source = SourceConfig("standard", "standard", (samples.STANDARD_SECRET,))
    provider = get_provider("standard")
    official = Webhook(samples.STANDARD_SECRET)
    return VerificationCase(
        "standard",
        lambda: provider.verify(body, lower(headers), source, now),
        lambda: official.verify(body, headers),  # returns the parsed JSON
        "standardwebhooks.Webhook.verify",
    )


def adyen_case(now: int) -> VerificationCase:
    from Adyen.util import is_valid_hmac_notification

    body, headers = samples.adyen_delivery(samples.adyen_item("PSPBENCH0001"))
    source = SourceConfig("adyen", "adyen", (samples.ADYEN_KEY,))
    provider = get_provider("adyen")

    def theirs() -> object:
        document = json.loads(body)
        for wrapper in document["notificationItems"]:
            if not is_valid_hmac_notification(wrapper["NotificationRequestItem"], samples.ADYEN_KEY):
                raise ValueError("invalid")
        return document

    return VerificationCase("adyen", lambda: provider.verify(body, lower(headers), source, now), theirs, "Adyen.util.is_valid_hmac_notification + json.loads")


def square_case(now: int) -> VerificationCase:
    from square.utils.webhooks_helper import verify_signature

    body, headers = samples.square_delivery()
    source = SourceConfig("square", "square", (samples.SQUARE_KEY,), options={"notificationUrl": samples.SQUARE_URL})
    provider = get_provider("square")
    text = body.decode()
    signature = headers["x-square-hmacsha256-signature"]

    def theirs() -> object:
        if not verify_signature(request_body=text, signature_header=signature, signature_key=samples.SQUARE_KEY, notification_url=samples.SQUARE_URL):
            raise ValueError("invalid")
        return json.loads(text)

    return VerificationCase("square", lambda: provider.verify(body, lower(headers), source, now), theirs, "square verify_signature + json.loads")


def run(number: int = 2000) -> list[dict[str, object]]:
    now = int(time.time())
    rows = []
    for case in (stripe_case(now), standard_case(now), adyen_case(now), square_case(now)):
        result: Comparison = compare(case.ours, case.theirs, number=number)
        rows.append(
            {
                "figure": f"verify {case.provider}",
                "ours_us": round(result.ours_seconds * 1e6, 2),
                "theirs_us": round(result.theirs_seconds * 1e6, 2),
                "against": case.official,
                "ratio": round(result.ratio, 3),
                "budget": f"<= {BUDGET}",
                "met": result.ratio <= BUDGET,
            }
        )
    return rows


_ = signing  # the samples sign with ops.signing; imported here so a missing module fails loudly
