"""The `ops send` sample catalog: every sample, signed by the sender, verifies with the real provider.

PayPal samples are verified through the real certificate checks, with the local stack's own CA and
certificate (devstack/pki.py) served by a fake fetcher, so the certificate `make run` generates is
proven acceptable to the provider too.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import pytest

from chalicelib.errors import InvalidSignature
from chalicelib.providers import get_provider
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal.chain import CertificateStore
from devstack import pki
from ops import delivery, samples
from providers_tooling.samples import decimal_amount
from tests import samples as test_samples

CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-local-test"
PAYPAL_WEBHOOK_ID = "8PT597110X687430L"
ALL_SAMPLES = [(provider, name) for provider in samples.providers() for name in samples.sample_names(provider)]


@lru_cache(maxsize=1)
def local_pki() -> pki.LocalPki:
    return pki.generate()


def source_for(provider: str) -> SourceConfig:
    if provider == "paypal":
        options = {"trustRootsPem": local_pki().ca_pem, "certSubjects": [pki.SUBJECT]}
        return SourceConfig("paypal", "paypal", (PAYPAL_WEBHOOK_ID,), options=options)
    entry = test_samples.SOURCES[provider]
    return SourceConfig(provider, provider, tuple(entry["secrets"]),
                        options={k: v for k, v in entry.items() if k != "secrets"})


def material_for(provider: str) -> delivery.SigningMaterial:
    source = source_for(provider)
    paypal = {"key_pem": local_pki().key_pem.encode(), "cert_url": CERT_URL}
    return delivery.SigningMaterial.from_source(
        {"secrets": list(source.secrets), **source.options}, provider, paypal
    )


def verifier(provider: str):
    if provider == "paypal":
        documents = {CERT_URL: local_pki().cert_pem.encode()}
        return PayPalProvider(CertificateStore(fetcher=lambda url: documents[url]))
    return get_provider(provider)


def verify(provider: str, signed: delivery.Delivery):
    headers = {name.lower(): value for name, value in signed.headers.items()}
    return verifier(provider).verify(signed.body, headers, source_for(provider), time.time())


@pytest.mark.parametrize("provider,name", ALL_SAMPLES)
def test_every_sample_signed_by_the_sender_verifies_with_the_real_provider(provider: str, name: str) -> None:
    # GIVEN a catalog sample, signed as its provider would sign it
    built = samples.build(provider, name)
    signed = delivery.sign(built, material_for(provider))

    # WHEN the provider's verifier reads it
    [event] = verify(provider, signed)

    # THEN it is genuine, with the id and type the sender reported
    assert event.event_id == built.event_id
    assert event.event_type == built.event_type


@pytest.mark.parametrize("provider,name", ALL_SAMPLES)
def test_a_tampered_sample_does_not_verify(provider: str, name: str) -> None:
    signed = delivery.sign(samples.build(provider, name), material_for(provider))

    with pytest.raises(InvalidSignature):
        verify(provider, delivery.tamper(signed))


@pytest.mark.parametrize(
    "provider,required",
    [
        ("stripe", ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
                    "charge.dispute.created", "payment_intent.created", "payment_intent.processing",
                    "payment_intent.canceled", "payment_intent.requires_action",
                    "payment_intent.amount_capturable_updated", "charge.refund.updated", "charge.dispute.closed"]),
        ("square", ["payment.created", "payment.updated", "payment.updated:failed", "payment.updated:canceled",
                    "refund.created", "refund.updated", "dispute.created", "dispute.state.updated"]),
        ("paypal", ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED",
                    "PAYMENT.CAPTURE.PENDING", "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED",
                    "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED"]),
        ("adyen", ["AUTHORISATION", "AUTHORISATION:refused", "CAPTURE", "CANCELLATION", "REFUND", "CHARGEBACK"]),
        ("standard", ["payment.succeeded", "payment.failed", "refund.succeeded", "dispute.created"]),
    ],
)
def test_each_provider_has_success_failure_refund_and_dispute(provider: str, required: list[str]) -> None:
    assert set(required) <= set(samples.sample_names(provider))


def test_one_payment_id_links_a_stripe_life_cycle() -> None:
    options = samples.SampleOptions(payment_id="pi_3LifeCycle00000000000000", amount=4200, currency="EUR")
    succeeded = samples.build("stripe", "payment_intent.succeeded", options).document["data"]["object"]
    refunded = samples.build("stripe", "charge.refunded", options).document["data"]["object"]
    refund = samples.build("stripe", "charge.refund.updated", options).document["data"]["object"]
    dispute = samples.build("stripe", "charge.dispute.created", options).document["data"]["object"]

    assert succeeded["id"] == refunded["payment_intent"] == refund["payment_intent"] == dispute["payment_intent"]
    assert succeeded["latest_charge"] == refunded["id"] == refund["charge"] == dispute["charge"]
    assert succeeded["amount"] == succeeded["amount_received"] == refunded["amount_refunded"] == 4200
    assert {succeeded["currency"], refunded["currency"]} == {"eur"}  # Stripe writes currencies in lower case


def test_one_order_id_links_a_paypal_life_cycle() -> None:
    options = samples.SampleOptions(payment_id="5O190127TN364715T", amount=2551, currency="USD")
    capture = samples.build("paypal", "PAYMENT.CAPTURE.COMPLETED", options).document["resource"]
    refund = samples.build("paypal", "PAYMENT.CAPTURE.REFUNDED", options).document["resource"]
    authorization = samples.build("paypal", "PAYMENT.AUTHORIZATION.CREATED", options).document["resource"]
    dispute = samples.build("paypal", "CUSTOMER.DISPUTE.CREATED", options).document["resource"]

    def up(resource: dict) -> str:
        [link] = [link for link in resource["links"] if link["rel"] == "up"]
        return link["href"]

    assert capture["supplementary_data"]["related_ids"]["order_id"] == "5O190127TN364715T"
    assert authorization["supplementary_data"]["related_ids"]["order_id"] == "5O190127TN364715T"
    assert up(capture).endswith("/v2/checkout/orders/5O190127TN364715T")
    assert up(refund).endswith(f"/v2/payments/captures/{capture['id']}")
    assert dispute["disputed_transactions"][0]["seller_transaction_id"] == capture["id"]
    assert capture["amount"] == {"currency_code": "USD", "value": "25.51"}


def test_square_refunds_and_disputes_name_their_payment() -> None:
    options = samples.SampleOptions(payment_id="KkAkhdMsgzn59SM8A89WgKwekxLZY")
    refund = samples.build("square", "refund.updated", options).document["data"]["object"]["refund"]
    dispute = samples.build("square", "dispute.created", options).document["data"]["object"]["dispute"]
    failed = samples.build("square", "payment.updated:failed", options).document["data"]["object"]["payment"]

    assert refund["payment_id"] == dispute["disputed_payment"]["payment_id"] == "KkAkhdMsgzn59SM8A89WgKwekxLZY"
    assert refund["id"].startswith("KkAkhdMsgzn59SM8A89WgKwekxLZY_")
    assert failed["status"] == "FAILED" and failed["card_details"]["errors"][0]["code"] == "GENERIC_DECLINE"


def test_adyen_modifications_carry_the_original_reference() -> None:
    options = samples.SampleOptions(payment_id="VK9DRSLLRCQ2WN82", amount=1000, currency="EUR")
    for name in ("CAPTURE", "CANCELLATION", "REFUND", "CHARGEBACK"):
        [entry] = samples.build("adyen", name, options).document["notificationItems"]
        item = entry["NotificationRequestItem"]
        assert item["originalReference"] == "VK9DRSLLRCQ2WN82" and item["pspReference"] != "VK9DRSLLRCQ2WN82"
    [entry] = samples.build("adyen", "AUTHORISATION:refused", options).document["notificationItems"]
    assert entry["NotificationRequestItem"]["success"] == "false"


def test_the_same_adyen_notification_twice_has_one_dedupe_key() -> None:
    # Adyen has no event id: a second send for the same payment is the same notification.
    options = samples.SampleOptions(payment_id="VK9DRSLLRCQ2WN82")
    assert samples.build("adyen", "CAPTURE", options).event_id == samples.build("adyen", "CAPTURE", options).event_id


@pytest.mark.parametrize("amount,currency,text", [(2000, "USD", "20.00"), (5, "EUR", "0.05"), (2000, "JPY", "2000"),
                                                   (1234, "KWD", "1.234")])
def test_decimal_amount_follows_the_currency_minor_units(amount: int, currency: str, text: str) -> None:
    assert decimal_amount(amount, currency) == text


def test_unknown_event_type_names_the_known_ones() -> None:
    with pytest.raises(samples.UnknownSample) as raised:
        samples.build("stripe", "payment_intent.exploded")
    assert "payment_intent.succeeded" in str(raised.value)


def test_payloads_are_json_objects_with_the_providers_envelope() -> None:
    assert set(samples.build("stripe", "charge.refunded").document) >= {"id", "object", "api_version", "created",
                                                                         "data", "livemode", "type"}
    assert set(samples.build("square", "payment.created").document) == {"merchant_id", "type", "event_id",
                                                                         "created_at", "data"}
    assert set(samples.build("paypal", "PAYMENT.CAPTURE.DENIED").document) >= {"id", "event_type", "create_time",
                                                                                "resource_type", "resource"}
    assert json.loads(json.dumps(samples.build("standard", "dispute.created").document))["type"] == "dispute.created"
