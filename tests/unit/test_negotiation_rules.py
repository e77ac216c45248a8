"""Negotiation's pure rules, with figures worked by hand: the opening strategy, settlement authority,
routing by findings and method, and deadlines in business days over US federal holidays."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.negotiation.authority import Limit, negotiator_limit, within
from services.negotiation.client_settings import Authority, Settings, StrategyLimits
from services.negotiation.deadlines import EASTERN, follow_up_at, nsa_period, offer_expiry
from services.negotiation.models import Case
from services.negotiation.routing import findings_at_stake, route_for
from services.negotiation.strategy import PastPayment, opening_offer
from shared.contracts import (
    BillPricedV2,
    CaseRoute,
    DecisionStepV2,
    FindingV2,
    NotOpenedReason,
    PricedLineV2,
    PricingMethod,
    ProviderRef,
)

D = Decimal
LIMITS = StrategyLimits()  # floor 90 %, ceiling 110 %, 3 payments needed, last 10


def past(of_target: str, of_billed: str = "0.50") -> PastPayment:
    return PastPayment(share_of_billed=D(of_billed), share_of_target=D(of_target))


def open_at(billed: str, target: str, history: list[PastPayment], unpriced: str = "0", **limits: object):
    return opening_offer(
        billed=D(billed),
        target=D(target),
        unpriced_billed=D(unpriced),
        history=history,
        limits=StrategyLimits(**limits) if limits else LIMITS,  # type: ignore[arg-type]
        client_id="acme",
    )


# --- the opening strategy -------------------------------------------------------------------------


def test_without_enough_history_the_opening_is_the_target() -> None:
    opening = open_at("3000.00", "2200.00", [past("0.90"), past("0.92")])
    assert opening.amount == D("2200.00")
    assert opening.factor_percent == D(100)
    assert opening.basis.startswith("U&C median 2,200.00; 2 accepted payment(s) on record, fewer than the 3")
    assert opening.basis.endswith("100% of 2,200.00 = 2,200.00")


def test_history_moves_the_opening_to_the_median_share_of_the_target() -> None:
    # shares of target 0.95, 0.90, 0.93 → median 0.93 → 93 % × 2,200.00 = 2,046.00
    history = [past("0.95", "0.55"), past("0.90", "0.48"), past("0.93", "0.52")]
    opening = open_at("3000.00", "2200.00", history)
    assert opening.amount == D("2046.00")
    assert opening.factor_percent == D("93.0")
    assert "provider accepted 48–55% of billed on 3 prior bill(s), a median 93% of the target on 3" in (
        opening.basis
    )


def test_an_even_history_takes_the_mean_of_the_middle_two() -> None:
    # 0.90 and 0.94 (two needed here) → 0.92 → 2,200.00 × 0.92 = 2,024.00
    opening = open_at("3000.00", "2200.00", [past("0.90"), past("0.94")], min_history=2)
    assert opening.amount == D("2024.00")


def test_history_is_held_within_the_clients_floor_and_ceiling() -> None:
    low = open_at("3000.00", "2200.00", [past("0.80"), past("0.82"), past("0.84")])
    assert low.amount == D("1980.00")  # 82 % is below the 90 % floor: 2,200.00 × 0.90
    assert "held to acme's floor of 90% of the target" in low.basis
    high = open_at("5000.00", "2200.00", [past("1.30"), past("1.25"), past("1.40")])
    assert high.amount == D("2420.00")  # 130 % is above the 110 % ceiling: 2,200.00 × 1.10
    assert "ceiling of 110%" in high.basis


def test_never_above_billed() -> None:
    opening = open_at("2300.00", "2200.00", [past("1.30"), past("1.25"), past("1.40")])
    assert opening.amount == D("2300.00")  # 2,420.00 would exceed billed
    assert opening.basis.endswith("never above billed: 2,300.00")


def test_unpriced_lines_are_added_at_billed_and_never_scaled() -> None:
    # 90 % × 2,000.00 = 1,800.00, plus 150.00 of unpriced lines
    opening = open_at("3000.00", "2000.00", [past("0.90")] * 3, unpriced="150.00")
    assert opening.amount == D("1950.00")
    assert "plus 150.00 of unpriced lines at billed" in opening.basis


def test_only_the_most_recent_payments_count() -> None:
    # most recent first: three at 1.00 then ten at 0.50; a window of 3 sees only the 1.00s
    history = [past("1.00")] * 3 + [past("0.50")] * 10
    assert open_at("3000.00", "2000.00", history, history_window=3).amount == D("2000.00")
    assert open_at("3000.00", "2000.00", history).amount == D("1800.00")  # median of 10 = 0.50 → floor


# --- settlement authority -------------------------------------------------------------------------


def _case(billed: str, target: str | None, unpriced: str = "0") -> Case:
    return Case(
        id=uuid.uuid4(),
        billed=D(billed),
        target=D(target) if target else None,
        unpriced_billed=D(unpriced),
        approvals=[],
    )


def test_the_lowest_authority_rule_binds_and_is_named() -> None:
    rules = Authority()  # 80 % of billed, target + 10 %, 25,000.00
    by_billed = negotiator_limit(rules, _case("3000.00", "2200.00"))
    assert by_billed == Limit(D("2400.00"), "80% of billed 3,000.00")  # below 2,420.00 and 25,000.00
    by_target = negotiator_limit(rules, _case("10000.00", "2000.00", "100.00"))
    assert by_target == Limit(D("2310.00"), "the target 2,100.00 plus 10%")  # (2,000 + 100) × 1.10
    absolute = negotiator_limit(Authority(max_amount=D("1000.00")), _case("3000.00", "2200.00"))
    assert absolute == Limit(D("1000.00"), "the absolute limit of 1,000.00")
    no_target = negotiator_limit(Authority(max_percent_of_billed=None, max_amount=None), _case("900", None))
    assert no_target.amount is None
    assert within(by_billed, D("2400.00"))
    assert not within(by_billed, D("2400.01"))


def test_limits_round_down_to_the_cent() -> None:
    # 80 % of 333.33 = 266.664 → 266.66 (a limit never rounds up)
    assert negotiator_limit(Authority(), _case("333.33", None)).amount == D("266.66")


# --- routing --------------------------------------------------------------------------------------


def priced(
    method: PricingMethod,
    lines: list[tuple[str, str | None]],
    findings: list[tuple[str, int, str]] | None = None,
) -> BillPricedV2:
    priced_lines = [
        PricedLineV2(
            line_number=n,
            code="27447",
            billed=D(b),
            method_amount=D(a) if a else None,
            allowed=D(a) if a else None,
            basis="x",
            reason=None if a else "too little data",
        )
        for n, (b, a) in enumerate(lines, start=1)
    ]
    return BillPricedV2(
        bill_id=uuid.uuid4(),
        pricing_id=uuid.uuid4(),
        revision=1,
        trigger="bill received",
        client_id="acme",
        provider=ProviderRef(npi="1912301953", tin="587654321"),
        method=method,
        jurisdiction="WY",
        total_billed=sum((x.billed for x in priced_lines), D(0)),
        total_allowed=sum((x.allowed or D(0) for x in priced_lines), D(0)),
        unpriced_billed=sum((x.billed for x in priced_lines if x.allowed is None), D(0)),
        lines=priced_lines,
        decision=[DecisionStepV2(step=method.value, applied=True, detail="x")],
        findings=[
            FindingV2(rule=rule, line_number=line, amount_at_stake=D(amount), detail="x")
            for rule, line, amount in findings or []
        ],
        statement_sha256="ab" * 32,
        priced_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


def test_routes_by_what_blocks_payment() -> None:
    uc = PricingMethod.usual_and_customary
    review = route_for(priced(uc, [("300.00", None)]), D("100.00"), "acme")
    assert (review.route, review.at_stake) == (CaseRoute.review, D("300.00"))
    assert "no line could be priced (line 1: too little data)" in review.reason

    errors = [("duplicate_line", 2, "300.00"), ("ncci_ptp", 2, "300.00"), ("charge_above_uc", 1, "900.00")]
    audit = route_for(priced(uc, [("1000.00", "400.00"), ("300.00", "150.00")], errors), D("100.00"), "acme")
    # line 2 counts once (300.00); charge_above_uc is leverage, not an error
    assert (audit.route, audit.findings_at_stake) == (CaseRoute.audit, D("300.00"))
    assert "above acme's threshold of 100.00" in audit.reason
    under = route_for(priced(uc, [("1000.00", "400.00"), ("300.00", "150.00")], errors), D("300.00"), "acme")
    assert under.route is CaseRoute.negotiate  # 300.00 is not above a 300.00 threshold

    repriced = route_for(priced(PricingMethod.fee_schedule, [("430.00", "250.00")]), D("100.00"), "acme")
    assert (repriced.route, repriced.at_stake) == (CaseRoute.repriced, D("180.00"))
    assert repriced.reason == "priced by the WY fee schedule at 250.00: no negotiation needed"

    negotiate = route_for(priced(uc, [("3000.00", "2200.00"), ("150.00", None)]), D("100.00"), "acme")
    assert (negotiate.route, negotiate.target, negotiate.at_stake) == (
        CaseRoute.negotiate,
        D("2200.00"),
        D("800.00"),  # 3,150.00 − (2,200.00 + 150.00 unpriced at billed)
    )
    nothing = route_for(priced(uc, [("200.00", "250.00")]), D("100.00"), "acme")
    assert (nothing.route, nothing.not_opened) == (None, NotOpenedReason.no_savings)


def test_findings_without_a_line_add_up() -> None:
    findings = [
        FindingV2(rule="mue", line_number=None, amount_at_stake=D("40.00"), detail="x"),
        FindingV2(rule="mue", line_number=1, amount_at_stake=D("80.00"), detail="x"),
        FindingV2(rule="modifier_59", line_number=1, amount_at_stake=D("500.00"), detail="x"),
    ]
    assert findings_at_stake(findings) == D("540.00")


# --- deadlines over holidays ----------------------------------------------------------------------


def test_offer_validity_skips_thanksgiving() -> None:
    # Friday 2026-11-20; 10 business days: Nov 23, 24, 25, (26 Thanksgiving), 27, 30, Dec 1, 2, 3, 4, 7
    made = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert offer_expiry(made, 10) == datetime(2026, 12, 7, 23, 59, 59, tzinfo=EASTERN)
    # the offer day is the Eastern calendar day: 02:00 UTC on Saturday is still Friday in New York
    assert offer_expiry(datetime(2026, 11, 21, 2, 0, tzinfo=UTC), 1).date() == date(2026, 11, 23)
    # follow-up after 3 business days: Nov 23, 24, 25 → 09:00 Eastern on Wednesday the 25th
    assert follow_up_at(made, 3) == datetime(2026, 11, 25, 9, 0, tzinfo=EASTERN)


def test_no_surprises_act_open_negotiation_is_30_business_days_then_4_for_idr() -> None:
    # Day 1 is Fri 2026-11-20. Business days skip Thanksgiving (Nov 26), Christmas (Fri Dec 25) and
    # New Year's Day (Fri Jan 1): day 30 is Tue 2027-01-05; IDR days 31–34: Jan 6, 7, 8, 11.
    assert nsa_period(date(2026, 11, 20)) == (date(2027, 1, 5), date(2027, 1, 11))
    # a notice sent on Saturday starts on Monday (day 1): 29 more business days after Mon Nov 23
    assert nsa_period(date(2026, 11, 21)) == (date(2027, 1, 6), date(2027, 1, 12))


@pytest.mark.parametrize("follow_up", [[0], [10], [3, 12]])
def test_follow_ups_must_fall_within_the_offer_validity(follow_up: list[int]) -> None:
    with pytest.raises(ValueError, match="follow_up_days"):
        Settings(offer_validity_days=10, follow_up_days=follow_up)


def test_strategy_floor_above_ceiling_is_refused() -> None:
    with pytest.raises(ValueError, match="floor_percent_of_target"):
        StrategyLimits(floor_percent_of_target=D(120), ceiling_percent_of_target=D(110))
