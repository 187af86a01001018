"""Figure 1: verification cost per provider, our verifier against the official library's.

Both sides do the same job on the same signed delivery: start from the raw body bytes (what the
framework hands over), prove the delivery genuine, and hand back the parsed event. Where an
official helper only checks the signature (Adyen, Square), the JSON parse a receiver must do next
is added to its side, and where it wants text (Square), so is decoding the body. Our side gets
headers with lower-case names, as :mod:`chalicelib.receiver` passes them once for every provider,
except for Standard Webhooks, whose library lowers the names itself: there ours lowers them too.
Our side also returns what the ingest path stores (ids, type, payload text); theirs returns less.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import Row
from bench.timing import Comparison, compare
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from tests import samples

BUDGET = 1.0
FIGURE = "1 verification"


@dataclass(frozen=True)
class VerificationCase:
    provider: str
    ours: Callable[[], object]
    theirs: Callable[[], object]
    official: str
    body_bytes: int


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def stripe_case(now: int) -> VerificationCase:
    import stripe

    body, headers = samples.stripe_delivery(samples.stripe_event(), timestamp=now)
    source = SourceConfig("stripe", "stripe", (samples.STRIPE_SECRET,))
    provider, lowered = get_provider("stripe"), lower(headers)
    return VerificationCase(
        "stripe",
        lambda: provider.verify(body, lowered, source, now),
        lambda: stripe.Webhook.construct_event(body, headers["Stripe-Signature"], samples.STRIPE_SECRET),
        "stripe.Webhook.construct_event",
        len(body),
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
        lambda: official.verify(body, headers),  # lowers the header names, returns the parsed JSON
        "standardwebhooks.Webhook.verify",
        len(body),
    )


def adyen_case(now: int) -> VerificationCase:
    from Adyen.util import is_valid_hmac_notification

    body, headers = samples.adyen_delivery(samples.adyen_item("PSPBENCH00000001"))
    source = SourceConfig("adyen", "adyen", (samples.ADYEN_KEY,))
    provider, lowered = get_provider("adyen"), lower(headers)

    def theirs() -> object:
        document = json.loads(body)
        for wrapper in document["notificationItems"]:
            if not is_valid_hmac_notification(wrapper["NotificationRequestItem"], samples.ADYEN_KEY):
                raise ValueError("invalid")
        return document

    return VerificationCase(
        "adyen", lambda: provider.verify(body, lowered, source, now), theirs,
        "Adyen is_valid_hmac_notification + json.loads", len(body),
    )


def square_case(now: int) -> VerificationCase:
    from square.utils.webhooks_helper import verify_signature

    body, headers = samples.square_delivery()
    source = SourceConfig("square", "square", (samples.SQUARE_KEY,), options={"notificationUrl": samples.SQUARE_URL})
    provider, lowered = get_provider("square"), lower(headers)
    signature = headers["x-square-hmacsha256-signature"]

    def theirs() -> object:
        text = body.decode("utf-8")
        if not verify_signature(request_body=text, signature_header=signature,
                                signature_key=samples.SQUARE_KEY, notification_url=samples.SQUARE_URL):
            raise ValueError("invalid")
        return json.loads(text)

    return VerificationCase(
        "square", lambda: provider.verify(body, lowered, source, now), theirs,
        "squareup verify_signature + json.loads", len(body),
    )


def run(quick: bool = False) -> list[Row]:
    now = int(time.time())
    number, repeats = (500, 5) if quick else (2000, 9)
    rows = []
    for case in (stripe_case(now), standard_case(now), adyen_case(now), square_case(now)):
        result: Comparison = compare(case.ours, case.theirs, number=number, repeats=repeats)
        rows.append(Row(
            FIGURE, f"{case.provider} ({case.body_bytes} B body)", round(result.ours_seconds * 1e6, 2), "µs",
            case.official, round(result.theirs_seconds * 1e6, 2), round(result.ratio, 3), f"<= {BUDGET}",
            result.ratio <= BUDGET,
        ))
    return rows
