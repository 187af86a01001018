"""Security properties end to end through the app: replay windows and live secret rotation."""

from __future__ import annotations

import json

import pytest

from chalicelib.ingest import Delivery, receive
from chalicelib.sources import SourceRegistry
from tests import samples
from tests.functional.helpers import post


@pytest.mark.parametrize("age", [302, 3600, -302, -3600])
def test_a_replayed_stripe_delivery_outside_the_tolerance_is_refused(client, stack, age):
    body, headers = samples.stripe_delivery(samples.stripe_event(), timestamp=samples.now() - age)
    response = post(client, "stripe", body, headers)
    assert response.status_code == 401 and json.loads(response.body)["error"] == "signature_expired"
    assert stack.items() == []


@pytest.mark.parametrize("age", [302, -302])
def test_a_replayed_standard_webhooks_delivery_outside_the_tolerance_is_refused(client, stack, age):
    body, headers = samples.standard_delivery(timestamp=samples.now() - age)
    response = post(client, "standard", body, headers)
    assert response.status_code == 401 and json.loads(response.body)["error"] == "signature_expired"
    assert stack.items() == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_secret_rotation_needs_no_restart_beyond_the_cache_ttl(stack):
    # GIVEN the receiver's source registry, reading the stage secret with a 60 s TTL
    secrets = stack.session.client("secretsmanager")
    clock = Clock()
    from chalicelib import runtime

    context = runtime.services().ingest
    registry = SourceRegistry(secrets, stack.resources.secret_id, ttl_seconds=60, clock=clock)
    context = type(context)(**{**context.__dict__, "sources": registry})
    old, new = samples.STRIPE_SECRET, "whsec_rotated_new_secret_value"

    def deliver(secret: str) -> int:
        body, headers = samples.stripe_delivery(samples.stripe_event(), secret=secret)
        delivery = Delivery("stripe", body, {k.lower(): v for k, v in headers.items()})
        try:
            receive(delivery, context, now=samples.now())
        except Exception as error:  # the HTTP status the receiver would answer
            return getattr(error, "status", 500)
        return 200

    def set_stripe_secrets(*values: str) -> None:
        document = json.loads(secrets.get_secret_value(SecretId=stack.resources.secret_id)["SecretString"])
        document["sources"]["stripe"]["secrets"] = list(values)
        secrets.put_secret_value(SecretId=stack.resources.secret_id, SecretString=json.dumps(document))

    assert deliver(old) == 200 and deliver(new) == 401

    # WHEN the new secret is added next to the old one: both work once the cache expires
    set_stripe_secrets(new, old)
    assert deliver(new) == 401  # still cached: no surprise before the TTL
    clock.now += 61
    assert deliver(new) == 200 and deliver(old) == 200

    # WHEN the old one is removed: it is refused after one more TTL, the new one keeps working
    set_stripe_secrets(new)
    clock.now += 61
    assert deliver(old) == 401 and deliver(new) == 200
