"""Amounts as integers in ISO 4217 minor units, converted exactly (``Decimal``, never ``float``).

Providers disagree on what "minor units" means: PayPal sends decimal strings (``"10.00"``),
Stripe and Adyen send integers in *their own* smallest unit, which is not always ISO's (Stripe
counts ISK in hundredths although the krona has no minor unit since 2007; Adyen counts CLP in
hundredths and IDR in whole rupiah). Every amount is therefore converted with the provider's
exponent into ISO's, and a value that does not land on a whole minor unit is rejected: it is
either malformed or a currency we would book wrongly, and both must stop the webhook, not be
rounded away.

Errors are :class:`~chalicelib.errors.ProcessingError` with a reason that names the field, never
the value, so the reason is safe to store on the webhook record.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from chalicelib import log
from chalicelib.errors import ProcessingError

# ISO 4217 (list one, amendment 179+): active currency codes and their minor units. Funds codes
# (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are included because providers can report them;
# precious metals and testing codes (XAU, XTS...) have no minor unit and are not money we book.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)

ISO_4217_EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}

# A plain decimal: digits, optionally a point and more digits. No sign, exponent, spaces,
# separators, NaN or Infinity: Decimal() would accept several of those.
_DECIMAL_TEXT = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,10})?")
# Far above any real payment (10^18 minor units) and far below DynamoDB's 38 digits.
MAX_MINOR_UNITS = 10**18


def currency_code(value: object, field: str = "currency") -> str:
    """The ISO 4217 code in upper case (Stripe sends lower case); unknown codes are refused.

    An unknown code is refused rather than given a guessed exponent: a wrong exponent books an
    amount 100 times too big or too small.
    """
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise ProcessingError(f"malformed currency in {field}")
    code = value.upper()
    if code not in ISO_4217_EXPONENTS:
        raise ProcessingError(f"unsupported currency in {field}")
    return code


def exponent(currency: str) -> int:
    """ISO 4217 minor units of ``currency`` (2 for USD, 0 for JPY, 3 for KWD)."""
    return ISO_4217_EXPONENTS[currency_code(currency)]


def _checked(minor: Decimal, field: str) -> int:
    if minor != minor.to_integral_value():
        raise ProcessingError(f"amount in {field} is not a whole number of minor units")
    if not 0 <= minor < MAX_MINOR_UNITS:
        raise ProcessingError(f"amount in {field} is out of range")
    return int(minor)


def minor_units_from_decimal(value: object, currency: str, field: str = "amount") -> int:
    """A decimal string in major units (PayPal's ``"10.00"``) as ISO minor units.

    ``"10.00"`` USD is 1000, ``"100"`` JPY is 100, ``"1.234"`` KWD is 1234; ``"10.001"`` USD and
    ``"1.5"`` JPY do not fit the currency and are refused, as are numbers sent as JSON numbers
    (a float has already lost the exact value).
    """
    if not isinstance(value, str) or not _DECIMAL_TEXT.fullmatch(value):
        raise ProcessingError(f"malformed amount in {field}")
    try:
        major = Decimal(value)
    except InvalidOperation:  # unreachable after the pattern, kept as a guard
        raise ProcessingError(f"malformed amount in {field}") from None
    return _checked(major.scaleb(exponent(currency)), field)


def minor_units_from_integer(
    value: object, currency: str, field: str = "amount", unit_exponent: int | None = None
) -> int:
    """An integer amount in a provider's smallest unit as ISO minor units.

    ``unit_exponent`` is the number of decimals the provider counts for this currency when it
    differs from ISO's (Stripe ISK: 2); ``None`` means the provider follows ISO 4217.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProcessingError(f"malformed amount in {field}")
    iso = exponent(currency)
    shift = 0 if unit_exponent is None else iso - unit_exponent
    return _checked(Decimal(value).scaleb(shift), field)


# Currencies whose ISO 4217 exponent is below the one providers count in, and until when amounts
# with a fraction of the ISO unit were still charged (ISK: the krona's minor unit was withdrawn
# in 2007, yet Stripe and Adyen accepted two decimals until 2023). A historical amount replayed
# or reconciled today must not dead-letter its webhook.
HISTORICAL_FRACTIONS: frozenset[str] = frozenset({"ISK"})


def minor_units_from_integer_or_historical(
    value: object, currency: str, field: str = "amount", unit_exponent: int | None = None
) -> int:
    """:func:`minor_units_from_integer`, except that a currency of :data:`HISTORICAL_FRACTIONS`
    counted in a finer unit than ISO's is rounded half up to the ISO unit instead of refused
    (``12345`` ISK hundredths is 123 ISK), and the rounding is logged (field and currency, never
    the value). Any other fraction is refused as before."""
    try:
        return minor_units_from_integer(value, currency, field, unit_exponent)
    except ProcessingError:
        code = currency_code(currency)
        if code not in HISTORICAL_FRACTIONS or unit_exponent is None or unit_exponent <= exponent(code):
            raise
        if not isinstance(value, int) or isinstance(value, bool):
            raise
        minor = Decimal(value).scaleb(exponent(code) - unit_exponent).quantize(Decimal(1), ROUND_HALF_UP)
        log.warning("historical fractional amount rounded to the currency's unit", field=field, currency=code,
                    metric="HistoricalAmountRounded")
        return _checked(minor, field)


def format_minor_units(amount: int, currency: str) -> str:
    """Minor units back to a decimal string for people (1000 USD -> "10.00", 5 JPY -> "5")."""
    places = exponent(currency)
    text = str(Decimal(amount).scaleb(-places))
    if places == 0:
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(places, '0')}"
