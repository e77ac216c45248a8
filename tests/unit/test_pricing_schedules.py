"""Fee-schedule math (PFS and OPPS), checked against figures worked out by hand from the 2025 CMS files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.pricing.localities import choose_locality
from services.pricing.models import Gpci, OppsRate, RelativeValue
from services.pricing.quotes import LineQuote, unpriced
from services.pricing.schedules import Multiplier, price_line, price_outpatient
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
    extra.setdefault("line_number", 1)
    extra.setdefault("service_date", date(2025, 10, 3))
    return BillLineV1(procedure_code=code, units=Decimal(units), charge=Decimal(charge), **extra)


def test_office_visit_in_rest_of_florida_at_1_4_times_medicare() -> None:
    # (1.30 × 1 + 1.35 × 0.94 + 0.10 × 1.467) × 32.3465 = 2.7157 × 32.3465 = 87.843… → 87.84
    # 87.84 × 1.40 = 122.976 → 122.98
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(), {("99213", ""): rvu("99213")}, locality, Multiplier(Decimal("1.40"), "FL fee schedule"), 2025
    )
    assert quote.method_amount == Decimal("122.98")
    assert quote.allowed == Decimal("122.98")
    assert "REST OF FLORIDA" in quote.basis
    assert "= 87.84" in quote.basis


def test_allowed_is_never_more_than_billed() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(charge="50.00"), {("99213", ""): rvu("99213")}, locality, Multiplier(Decimal("1.40"), "x"), 2025
    )
    assert quote.method_amount == Decimal("122.98")
    assert quote.allowed == Decimal("50.00")


def test_units_multiply_the_rounded_unit_price() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(units="3", charge="999.00"),
        {("99213", ""): rvu("99213")},
        locality,
        Multiplier(Decimal("1.40"), "x"),
        2025,
    )
    assert quote.method_amount == Decimal("368.94")  # 122.98 × 3


def test_facility_setting_uses_the_facility_practice_expense() -> None:
    # (1.30 + 0.57 × 0.94 + 0.10 × 1.467) × 32.3465 = 1.9825 × 32.3465 = 64.1269… → 64.13
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    quote = price_line(
        line(place_of_service="22", charge="999.00"),
        {("99213", ""): rvu("99213")},
        locality,
        Multiplier(Decimal("1"), "x"),
        2025,
    )
    assert quote.method_amount == Decimal("64.13")
    assert "facility" in quote.basis


def test_professional_component_modifier_selects_its_own_row() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    rows = {
        ("71046", ""): rvu("71046", work="0.22", pe_nf="0.77", mp="0.02"),
        ("71046", "26"): rvu("71046", "26", work="0.22", pe_nf="0.08", mp="0.01"),
    }
    quote = price_line(
        line("71046", modifiers=["26", "RT"]), rows, locality, Multiplier(Decimal("1"), "x"), 2025
    )
    # (0.22 + 0.08 × 0.94 + 0.01 × 1.467) × 32.3465 = 0.30987 × 32.3465 = 10.023… → 10.02
    assert quote.method_amount == Decimal("10.02")
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
        line("87070"),
        {("87070", ""): rvu("87070", status=status)},
        locality,
        Multiplier(Decimal("1.4"), "x"),
        2025,
    )
    assert quote.allowed is None
    assert quote.reason is not None
    assert fragment in quote.reason


def test_unknown_codes_and_revenue_lines_are_unpriced_with_reasons() -> None:
    locality = choose_locality("FL", FLORIDA)
    assert locality is not None
    unknown = price_line(line("99999"), {}, locality, Multiplier(Decimal("1"), "x"), 2025)
    assert unknown.reason is not None
    assert "not on the 2025 Medicare physician fee schedule" in unknown.reason
    revenue = price_line(line(None, revenue_code="0450"), {}, locality, Multiplier(Decimal("1"), "x"), 2025)
    assert revenue.reason is not None
    assert "revenue-code line" in revenue.reason


def opps(code: str, si: str, rate: str | None) -> OppsRate:
    return OppsRate(
        year=2025,
        hcpcs=code,
        status_indicator=si,
        apc="5521",
        relative_weight=None,
        payment_rate=Decimal(rate) if rate else None,
    )


def no_other_schedule(line: BillLineV1, reason: str) -> LineQuote:
    return unpriced(line, reason)


def test_outpatient_lines_at_opps_rate_times_the_multiplier_with_packaging() -> None:
    # OPPS Addendum B 2025: 73030 Q1 $88.05, 99284 J2 $425.82, 96372 Q1 $71.17, J1100 N, 36415 Q4.
    rates = {
        "73030": opps("73030", "Q1", "88.05"),
        "99284": opps("99284", "J2", "425.82"),
        "96372": opps("96372", "Q1", "71.17"),
        "J1100": opps("J1100", "N", None),
        "36415": opps("36415", "Q4", None),
        "71046": opps("71046", "Q3", "88.05"),
    }
    lines = [
        line("99284", "2400.00"),
        line("96372", "150.00", line_number=2),
        line("J1100", "40.00", line_number=3),
        line("36415", "30.00", line_number=4),
        line("73030", "300.00", line_number=5, service_date=date(2025, 10, 4)),
    ]
    q = {
        x.line_number: x
        for x in price_outpatient(
            lines,
            opps=rates,
            multiplier=Multiplier(Decimal("2.0"), "NV WC"),
            year=2025,
            other=no_other_schedule,
        )
    }
    assert q[1].method_amount == Decimal("851.64")  # 425.82 × 2.0
    assert "J2" in q[1].basis
    assert "not applied" in q[1].basis
    assert q[2].method_amount == Decimal("142.34")  # Q1 with no S/T/V on the claim (J2 is not one): 71.17 × 2
    assert q[3].allowed == Decimal("0.00")  # N: packaged
    assert "packaged" in q[3].basis
    # Q4 on a claim with a J2 service: packaged (CMS: J1, J2, S, T, V, Q1, Q2 or Q3 on the claim)
    assert q[4].allowed == Decimal("0.00")
    assert "Q4" in q[4].basis
    assert q[5].method_amount == Decimal("176.10")  # another Q1, also paid: 88.05 × 2


def test_q1_is_packaged_on_a_claim_with_a_t_service() -> None:
    rates = {"73030": opps("73030", "Q1", "88.05"), "0101T": opps("0101T", "T", "239.88")}
    quotes = price_outpatient(
        [line("0101T", "900.00"), line("73030", "300.00", line_number=2, service_date=date(2025, 10, 5))],
        opps=rates,
        multiplier=Multiplier(Decimal("1"), "x"),
        year=2025,
        other=no_other_schedule,
    )
    assert quotes[0].method_amount == Decimal("239.88")
    assert quotes[1].allowed == Decimal("0.00")


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
