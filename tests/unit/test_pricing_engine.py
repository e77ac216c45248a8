"""Fee-schedule math, checked against figures worked out by hand from the 2025 CMS files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.pricing.engine import choose_locality, price_bill, price_line
from services.pricing.models import Gpci, RelativeValue
from shared.contracts import BillLineV1

CF = Decimal("32.3465")


def rvu(code: str, modifier: str = "", status: str = "A", work="1.30", pe_nf="1.35", pe_f="0.57", mp="0.10"):
    return RelativeValue(
        year=2025,
        hcpcs=code,
        modifier=modifier,
        status_code=status,
        work_rvu=Decimal(work),
        pe_nonfacility_rvu=Decimal(pe_nf),
        pe_facility_rvu=Decimal(pe_f),
        mp_rvu=Decimal(mp),
        pctc_indicator="0",
        global_days="XXX",
        conversion_factor=CF,
    )


FLORIDA = [
    Gpci(
        year=2025,
        mac="09102",
        state="FL",
        locality="03",
        locality_name="FORT LAUDERDALE",
        work=Decimal("1"),
        pe=Decimal("0.998"),
        mp=Decimal("1.77"),
    ),
    Gpci(
        year=2025,
        mac="09102",
        state="FL",
        locality="04",
        locality_name="MIAMI",
        work=Decimal("1"),
        pe=Decimal("1.027"),
        mp=Decimal("2.5"),
    ),
    Gpci(
        year=2025,
        mac="09102",
        state="FL",
        locality="99",
        locality_name="REST OF FLORIDA",
        work=Decimal("1"),
        pe=Decimal("0.94"),
        mp=Decimal("1.467"),
    ),
]


def line(code: str | None = "99213", charge: str = "200.00", units: str = "1", **extra) -> BillLineV1:
    return BillLineV1(
        line_number=1,
        procedure_code=code,
        units=Decimal(units),
        charge=Decimal(charge),
        service_date=date(2025, 10, 3),
        **extra,
    )


def test_office_visit_in_rest_of_florida_at_1_4_times_medicare() -> None:
    # (1.30 × 1 + 1.35 × 0.94 + 0.10 × 1.467) × 32.3465 = 2.7157 × 32.3465 = 87.843… → 87.84
    # 87.84 × 1.40 = 122.976 → 122.98
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(), {("99213", ""): rvu("99213")}, locality, Decimal("1.40"), "FL fee schedule", 2025
    )
    assert quote.schedule_amount == Decimal("122.98")
    assert quote.allowed == Decimal("122.98")
    assert "REST OF FLORIDA" in quote.basis
    assert "= 87.84" in quote.basis


def test_allowed_is_never_more_than_billed() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(charge="50.00"), {("99213", ""): rvu("99213")}, locality, Decimal("1.40"), "x", 2025
    )
    assert quote.schedule_amount == Decimal("122.98")
    assert quote.allowed == Decimal("50.00")


def test_units_multiply_the_rounded_unit_price() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(units="3", charge="999.00"), {("99213", ""): rvu("99213")}, locality, Decimal("1.40"), "x", 2025
    )
    assert quote.schedule_amount == Decimal("368.94")  # 122.98 × 3


def test_facility_setting_uses_the_facility_practice_expense() -> None:
    # (1.30 + 0.57 × 0.94 + 0.10 × 1.467) × 32.3465 = 1.9825 × 32.3465 = 64.1269… → 64.13
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(place_of_service="22", charge="999.00"),
        {("99213", ""): rvu("99213")},
        locality,
        Decimal("1"),
        "x",
        2025,
    )
    assert quote.schedule_amount == Decimal("64.13")
    assert "facility" in quote.basis


def test_professional_component_modifier_selects_its_own_row() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    rows = {
        ("71046", ""): rvu("71046", work="0.22", pe_nf="0.77", mp="0.02"),
        ("71046", "26"): rvu("71046", "26", work="0.22", pe_nf="0.08", mp="0.01"),
    }
    quote = price_line(line("71046", modifiers=["26", "RT"]), rows, locality, Decimal("1"), "x", 2025)
    # (0.22 + 0.08 × 0.94 + 0.01 × 1.467) × 32.3465 = 0.30987 × 32.3465 = 10.023… → 10.02
    assert quote.schedule_amount == Decimal("10.02")
    assert "71046-26" in quote.basis
    assert "modifiers RT not applied" in quote.basis


@pytest.mark.parametrize(
    ("status", "fragment"),
    [("X", "statutory exclusion"), ("B", "bundled"), ("C", "carrier-priced"), ("N", "not covered")],
)
def test_codes_not_payable_on_the_schedule_are_named_not_guessed(status: str, fragment: str) -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line("87070"), {("87070", ""): rvu("87070", status=status)}, locality, Decimal("1.4"), "x", 2025
    )
    assert quote.allowed is None
    assert quote.reason is not None
    assert fragment in quote.reason


def test_unknown_codes_and_revenue_lines_are_unpriced_with_reasons() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    unknown = price_line(line("99999"), {}, locality, Decimal("1"), "x", 2025)
    assert unknown.reason is not None
    assert "not on the 2025 Medicare physician fee schedule" in unknown.reason
    revenue = price_line(line(None, revenue_code="0450"), {}, locality, Decimal("1"), "x", 2025)
    assert revenue.reason is not None
    assert "revenue-code line" in revenue.reason


def test_no_fee_schedule_means_every_line_is_unpriced() -> None:
    quote = price_bill(
        [line()],
        jurisdiction="WY",
        rvus={("99213", ""): rvu("99213")},
        localities=FLORIDA,
        multiplier=None,
        year=2025,
    )
    assert quote.total_allowed == 0
    assert quote.unpriced_billed == Decimal("200.00")
    assert quote.lines[0].reason == "no fee schedule is configured for jurisdiction WY"


def test_single_locality_states_use_it_and_say_so() -> None:
    only = Gpci(
        year=2025,
        mac="10112",
        state="AL",
        locality="00",
        locality_name="ALABAMA",
        work=Decimal("1"),
        pe=Decimal("0.869"),
        mp=Decimal("0.575"),
    )
    locality = choose_locality("AL", [only])
    assert locality is not None
    assert locality.name == "ALABAMA"
    assert locality.note == "statewide locality"
    assert choose_locality("AL", []) is None
