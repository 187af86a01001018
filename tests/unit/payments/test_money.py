"""Currency conversion: exact, with each currency's real ISO 4217 exponent, and strict."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments import money


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("USD", 2), ("EUR", 2), ("MGA", 2),
     ("KWD", 3), ("BHD", 3), ("TND", 3), ("CLF", 4)],
)
def test_exponents_are_iso_4217(currency: str, exponent: int) -> None:
    assert money.exponent(currency) == exponent


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.00", "USD", 1000),  # two-decimal
        ("10", "USD", 1000),
        ("0.01", "USD", 1),
        ("0", "USD", 0),
        ("100", "JPY", 100),  # zero-decimal
        ("100.00", "JPY", 100),  # trailing zeros are still a whole yen
        ("1.234", "KWD", 1234),  # three-decimal
        ("1.2", "KWD", 1200),
        ("12345678.90", "EUR", 1234567890),
    ],
)
def test_decimal_strings_convert_with_the_currency_exponent(text: str, currency: str, minor: int) -> None:
    # GIVEN a decimal amount in major units WHEN converted THEN it is exact minor units
    assert money.minor_units_from_decimal(text, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "reason"),
    [
        ("10.001", "USD", "not a whole number of minor units"),
        ("1.5", "JPY", "not a whole number of minor units"),
        ("1.2345", "KWD", "not a whole number of minor units"),
        ("-1.00", "USD", "malformed amount"),
        ("+1.00", "USD", "malformed amount"),
        ("1e3", "USD", "malformed amount"),
        ("1,00", "EUR", "malformed amount"),
        (" 1.00", "USD", "malformed amount"),
        ("1.", "USD", "malformed amount"),
        (".5", "USD", "malformed amount"),
        ("", "USD", "malformed amount"),
        ("NaN", "USD", "malformed amount"),
        ("Infinity", "USD", "malformed amount"),
        ("abc", "USD", "malformed amount"),
        (10.0, "USD", "malformed amount"),  # a JSON number has already lost the exact value
        (None, "USD", "malformed amount"),
        ("1" * 25, "USD", "malformed amount"),
    ],
)
def test_malformed_decimal_amounts_are_rejected_with_a_safe_reason(value: object, currency: str, reason: str) -> None:
    with pytest.raises(ProcessingError) as raised:
        money.minor_units_from_decimal(value, currency, "resource.amount.value")
    assert reason in raised.value.reason
    assert "resource.amount.value" in raised.value.reason
    if isinstance(value, str) and value.strip():
        assert value.strip() not in raised.value.reason.replace("resource.amount.value", "")


@pytest.mark.parametrize(
    ("value", "currency", "unit_exponent", "minor"),
    [
        (2000, "USD", None, 2000),
        (500, "JPY", None, 500),
        (1234, "KWD", None, 1234),
        (10000, "ISK", 2, 100),  # Stripe and Adyen count ISK in hundredths
        (150000, "CLP", 2, 1500),  # Adyen counts CLP in hundredths
        (15000, "IDR", 0, 1500000),  # Adyen counts IDR in whole rupiah
        (1000, "MGA", 0, 100000),  # Stripe counts whole ariary
    ],
)
def test_provider_integer_units_become_iso_minor_units(value: int, currency: str, unit_exponent: int | None,
                                                       minor: int) -> None:
    assert money.minor_units_from_integer(value, currency, "amount", unit_exponent) == minor


@pytest.mark.parametrize("value", [-1, True, "2000", 20.0, None, 10**19])
def test_bad_integer_amounts_are_rejected(value: object) -> None:
    with pytest.raises(ProcessingError):
        money.minor_units_from_integer(value, "USD")


def test_an_integer_that_does_not_fit_iso_units_is_rejected() -> None:
    # GIVEN Stripe's ISK 100.50 (10050 hundredths), which is not a whole krona
    with pytest.raises(ProcessingError, match="not a whole number"):
        money.minor_units_from_integer(10050, "ISK", "amount", 2)


@pytest.mark.parametrize("code", ["usd", "Usd", "USD"])
def test_currency_codes_are_upper_cased(code: str) -> None:
    assert money.currency_code(code) == "USD"


@pytest.mark.parametrize("code", ["US", "USDD", "U$D", "", None, 840, "XTS", "ZZZ"])
def test_unknown_or_malformed_currencies_are_rejected(code: object) -> None:
    with pytest.raises(ProcessingError):
        money.currency_code(code)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(1000, "USD", "10.00"), (5, "USD", "0.05"), (0, "EUR", "0.00"), (500, "JPY", "500"), (1234, "KWD", "1.234")],
)
def test_minor_units_format_back_for_people(minor: int, currency: str, text: str) -> None:
    assert money.format_minor_units(minor, currency) == text
    assert money.minor_units_from_decimal(text, currency) == minor
