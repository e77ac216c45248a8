"""Fees worked by hand: contingency with its cap and the zero-savings case, flat, hybrid, effective dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.reporting.fees import FeeKind, FeeTerms, fee_for, terms_on

D = Decimal
SEED_003 = FeeTerms(FeeKind.contingency, date(2025, 1, 1), percent=D("25"), cap=D("1000.00"))


def test_seed_example_a_3500_bill_reduced_to_2500_costs_250() -> None:
    # Seed 003: 25 % of savings capped at $1,000; $3,500 → $2,500 saves $1,000 → fee $250.
    savings = D("3500.00") - D("2500.00")
    fee = fee_for(SEED_003, savings)
    assert fee == D("250.00")
    assert savings - fee == D("750.00")


def test_contingency_is_capped_per_bill() -> None:
    # $20,000 billed, $14,000 agreed: 25 % of $6,000 is $1,500, capped at $1,000.
    assert fee_for(SEED_003, D("6000.00")) == D("1000.00")
    # Exactly at the cap: 25 % of $4,000.
    assert fee_for(SEED_003, D("4000.00")) == D("1000.00")
    # Just under: 25 % of $3,999.96 = $999.99.
    assert fee_for(SEED_003, D("3999.96")) == D("999.99")


@pytest.mark.parametrize("savings", [D("0.00"), D("-12.50")])
def test_no_savings_no_fee(savings: Decimal) -> None:
    assert fee_for(SEED_003, savings) == D("0.00")


def test_percent_is_rounded_half_up_to_the_cent() -> None:
    assert fee_for(SEED_003, D("333.33")) == D("83.33")  # 83.3325
    assert fee_for(SEED_003, D("0.02")) == D("0.01")  # 0.005
    assert fee_for(SEED_003, D("0.01")) == D("0.00")  # 0.0025


def test_flat_fee_per_bill_whatever_it_saved() -> None:
    flat = FeeTerms(FeeKind.flat, date(2025, 1, 1), flat=D("150.00"))
    assert fee_for(flat, D("900.00")) == D("150.00")
    assert fee_for(flat, D("0.00")) == D("150.00")  # net savings −150.00: reported as is


def test_hybrid_flat_plus_percent_with_a_cap() -> None:
    hybrid = FeeTerms(FeeKind.hybrid, date(2025, 1, 1), flat=D("50.00"), percent=D("10"), cap=D("400.00"))
    assert fee_for(hybrid, D("1000.00")) == D("150.00")  # 50 + 100
    assert fee_for(hybrid, D("5000.00")) == D("400.00")  # 50 + 500 = 550, capped
    assert fee_for(hybrid, D("0.00")) == D("50.00")  # the flat part only


def test_no_terms_no_fee() -> None:
    assert fee_for(None, D("1000.00")) == D("0.00")


def test_terms_in_effect_on_a_day() -> None:
    first = FeeTerms(FeeKind.contingency, date(2025, 1, 1), percent=D("25"), cap=D("1000"))
    second = FeeTerms(FeeKind.flat, date(2025, 3, 1), flat=D("100"))
    history = [first, second]
    assert terms_on(history, date(2024, 12, 31)) is None
    assert terms_on(history, date(2025, 1, 1)) is first
    assert terms_on(history, date(2025, 2, 28)) is first
    assert terms_on(history, date(2025, 3, 1)) is second  # applies from its own date on
    assert terms_on(history, date(2026, 1, 1)) is second


def test_incomplete_or_contradictory_terms_name_the_field() -> None:
    assert FeeTerms(FeeKind.contingency, date(2025, 1, 1)).problems()[0][0] == "percent"
    assert FeeTerms(FeeKind.flat, date(2025, 1, 1)).problems()[0][0] == "flat"
    assert ("flat", "contingency terms take no flat amount; use hybrid") in FeeTerms(
        FeeKind.contingency, date(2025, 1, 1), percent=D("10"), flat=D("5")
    ).problems()
    hybrid = FeeTerms(FeeKind.hybrid, date(2025, 1, 1), percent=D("10"), flat=D("50"), cap=D("40"))
    assert hybrid.problems() == [("cap", "the cap is below the flat amount")]
    assert SEED_003.problems() == []
