"""Fixtures of the PayPal provider tests: real RSA signatures and certificates, never the network."""

from __future__ import annotations

import pytest

from tests.unit.providers.paypal.helpers import DAY, NOW_DT
from tests.unit.providers.paypal_pki import (
    Issued,
    RealDelivery,
    load_real_delivery,
    make_ca,
    make_leaf,
)


@pytest.fixture(autouse=True)
def _environment_says_local(monkeypatch: pytest.MonkeyPatch) -> None:
    # The loopback allowance depends on the source's stage (from the settings) alone: with the
    # environment claiming the local stage in every test, one that reads it would be caught.
    monkeypatch.setenv("STAGE", "local")


@pytest.fixture(scope="module")
def real() -> RealDelivery:
    return load_real_delivery()


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make_ca("Webhook Tests Root CA", NOW_DT - 30 * DAY, NOW_DT + 3650 * DAY)
    intermediate = make_ca("Webhook Tests Issuing CA", NOW_DT - 30 * DAY, NOW_DT + 1825 * DAY, root)
    leaf = make_leaf(intermediate, NOW_DT - DAY, NOW_DT + 365 * DAY)
    # Same names as the real CA, different keys: nobody we trust signed it.
    rogue_root = make_ca("Webhook Tests Root CA", NOW_DT - 30 * DAY, NOW_DT + 3650 * DAY)
    rogue_intermediate = make_ca(
        "Webhook Tests Issuing CA", NOW_DT - 30 * DAY, NOW_DT + 1825 * DAY, rogue_root
    )
    return {
        "root": root,
        "intermediate": intermediate,
        "leaf": leaf,
        "rogue_intermediate": rogue_intermediate,
    }
