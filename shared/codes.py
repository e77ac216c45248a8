"""Shapes of the identifiers and codes that appear on medical bills, as reusable pydantic types.

Each type normalises what partners commonly send (lower case, a hyphen in a TIN, a three-digit revenue
code) and rejects what is wrong with a message that says what was expected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

# fmt: off
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "PR", "VI", "GU", "AS", "MP",  # territories
})
# fmt: on

_CPT_HCPCS = re.compile(r"^(\d{4}[0-9A-Z]|[A-Z]\d{4})$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn over the 9-digit base prefixed with the card issuer prefix 80840 (CMS NPI standard)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


# Validation context key: "warn" accepts an NPI whose check digit is wrong (the caller reports it);
# anything else, or no context, refuses it.
NPI_CHECK_DIGIT = "npi_check_digit"
NPI_CHECK_DIGIT_MESSAGE = "NPI check digit is wrong (Luhn check failed); check for a typo"


def _npi(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(r"\d{10}", value):
        raise ValueError("an NPI is exactly 10 digits")
    lenient = (info.context or {}).get(NPI_CHECK_DIGIT) == "warn"
    if not lenient and not npi_check_digit_ok(value):
        raise ValueError(NPI_CHECK_DIGIT_MESSAGE)
    return value


def _tin(value: str) -> str:
    digits = value.replace("-", "")
    if not re.fullmatch(r"\d{9}", digits):
        raise ValueError("a TIN (EIN or SSN) is 9 digits, optionally written 12-3456789")
    return digits


def _state(value: str) -> str:
    code = value.strip().upper()
    if code not in US_STATES:
        raise ValueError("not a US state or territory code (two letters, e.g. FL)")
    return code


def _zip(value: str) -> str:
    digits = value.strip().replace("-", "")
    if not re.fullmatch(r"\d{5}(\d{4})?", digits):
        raise ValueError("a ZIP code is 5 digits or ZIP+4 (9 digits)")
    return digits


def _procedure(value: str) -> str:
    code = value.strip().upper()
    if not _CPT_HCPCS.fullmatch(code):
        raise ValueError(
            "a CPT code is 4 digits + a digit or F/T/U/M (e.g. 99213); a HCPCS code is a letter + 4 digits"
        )
    return code


def _revenue(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"\d{3,4}", code):
        raise ValueError("a revenue code is 4 digits (e.g. 0450)")
    return code.zfill(4)


def _modifier(value: str) -> str:
    code = value.strip().upper()
    if not _MODIFIER.fullmatch(code):
        raise ValueError("a modifier is 2 letters or digits (e.g. 25, LT)")
    return code


def _place_of_service(value: str) -> str:
    if not re.fullmatch(r"\d{2}", value):
        raise ValueError("place of service is a 2-digit CMS code (e.g. 11 office, 21 inpatient)")
    return value


def _service_date(value: date) -> date:
    # One day of slack for partners in time zones ahead of the server.
    if value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError("service date is in the future")
    if value < date(1990, 1, 1):
        raise ValueError("service date is before 1990")
    return value


def _str(value: object) -> object:
    return str(value) if isinstance(value, int) else value


NPI = Annotated[str, BeforeValidator(_str), AfterValidator(_npi), Field(examples=["1234567893"])]
TIN = Annotated[str, BeforeValidator(_str), AfterValidator(_tin), Field(examples=["587654321"])]
StateCode = Annotated[str, AfterValidator(_state), Field(examples=["FL"])]
ZipCode = Annotated[str, BeforeValidator(_str), AfterValidator(_zip), Field(examples=["33111"])]
ProcedureCode = Annotated[str, AfterValidator(_procedure), Field(examples=["99213"])]
RevenueCode = Annotated[str, BeforeValidator(_str), AfterValidator(_revenue), Field(examples=["0450"])]
Modifier = Annotated[str, BeforeValidator(_str), AfterValidator(_modifier), Field(examples=["25"])]
PlaceOfService = Annotated[
    str, BeforeValidator(_str), AfterValidator(_place_of_service), Field(examples=["11"])
]
ServiceDate = Annotated[date, AfterValidator(_service_date)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, examples=["125.00"])]
Units = Annotated[Decimal, Field(gt=0, le=Decimal("99999.999"), decimal_places=3)]
