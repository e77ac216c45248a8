"""Identifier and code shapes partners send."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.codes import (
    NPI,
    TIN,
    Amount,
    Modifier,
    ProcedureCode,
    RevenueCode,
    StateCode,
    ZipCode,
    npi_check_digit_ok,
)


@pytest.mark.parametrize("npi", ["1912301953", "1234567893", "1003000126"])
def test_valid_npis_pass_the_luhn_check(npi: str) -> None:
    assert npi_check_digit_ok(npi)
    assert TypeAdapter(NPI).validate_python(npi) == npi


@pytest.mark.parametrize("npi", ["1234567890", "1912301954", "123456789", "12345678901", "abcdefghij"])
def test_invalid_npis_are_refused(npi: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(NPI).validate_python(npi)


@pytest.mark.parametrize(
    ("adapter", "given", "normalised"),
    [
        (TIN, "58-7654321", "587654321"),
        (StateCode, " fl ", "FL"),
        (ZipCode, "33111-0000", "331110000"),
        (ZipCode, 33111, "33111"),
        (ProcedureCode, "99213", "99213"),
        (ProcedureCode, "j1100", "J1100"),
        (ProcedureCode, "0001F", "0001F"),
        (RevenueCode, "450", "0450"),
        (Modifier, "lt", "LT"),
        (Modifier, 25, "25"),
    ],
)
def test_common_variants_are_normalised(adapter, given, normalised) -> None:  # type: ignore[no-untyped-def]
    assert TypeAdapter(adapter).validate_python(given) == normalised


@pytest.mark.parametrize(
    ("adapter", "given"),
    [
        (TIN, "1234"),
        (StateCode, "XX"),
        (ZipCode, "3311"),
        (ProcedureCode, "9921"),
        (ProcedureCode, "992134"),
        (RevenueCode, "45"),
        (Modifier, "5"),
        (Amount, "1.005"),
        (Amount, "-0.01"),
        (Amount, "NaN"),
        (Amount, "Infinity"),
        (Amount, "10000000000.00"),
    ],
)
def test_wrong_shapes_are_refused(adapter, given) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        TypeAdapter(adapter).validate_python(given)


def test_amounts_are_exact_decimals() -> None:
    assert TypeAdapter(Amount).validate_python("0.10") + TypeAdapter(Amount).validate_python(
        "0.20"
    ) == Decimal("0.30")
