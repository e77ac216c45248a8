"""The negotiation case: opening, alternating offers, agreement, settlement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.negotiation.cases import CaseStatus, Decision, open_case, opening_for, respond, settle
from shared.contracts import BillPricedV1, NotOpenedReason, Party, PricedLineV1, PricingMethod, ProviderRef
from shared.errors import Conflict, Unprocessable

NOW = datetime(2025, 10, 3, tzinfo=UTC)


def priced(*lines: tuple[str, str | None]) -> BillPricedV1:
    priced_lines = [
        PricedLineV1(
            line_number=i, code="99213", billed=Decimal(b), allowed=Decimal(a) if a else None, basis="x"
        )
        for i, (b, a) in enumerate(lines, start=1)
    ]
    total_billed = sum((line.billed for line in priced_lines), Decimal(0))
    return BillPricedV1(
        bill_id=uuid.uuid4(),
        pricing_id=uuid.uuid4(),
        client_id="c",
        provider=ProviderRef(npi="1912301953", tin="1"),
        method=PricingMethod.fee_schedule,
        jurisdiction="FL",
        total_billed=total_billed,
        total_allowed=sum((line.allowed or Decimal(0) for line in priced_lines), Decimal(0)),
        unpriced_billed=sum((line.billed for line in priced_lines if line.allowed is None), Decimal(0)),
        lines=priced_lines,
        priced_at=NOW,
    )


def test_opening_offer_carries_unpriced_lines_at_billed() -> None:
    opening = opening_for(priced(("300.00", "120.00"), ("50.00", None)))
    assert opening.opening_offer == Decimal("170.00")
    assert opening.reason is None


def test_no_case_when_nothing_could_be_priced_or_nothing_saved() -> None:
    assert opening_for(priced(("50.00", None))).reason is NotOpenedReason.unpriced
    assert opening_for(priced(("50.00", "50.00"))).reason is NotOpenedReason.no_savings


def _case():  # type: ignore[no-untyped-def]
    p = priced(("300.00", "120.00"))
    return open_case(p, Decimal("120.00"), NOW)


def test_provider_accepting_the_opening_offer_agrees_the_case() -> None:
    case = _case()
    accepted = respond(case, Party.provider, Decision.accept, None, None, NOW)
    assert case.status == CaseStatus.agreed
    assert case.agreed_amount == Decimal("120.00")
    assert case.agreed_offer_id == accepted.id


def test_counter_then_accept() -> None:
    case = _case()
    respond(case, Party.provider, Decision.counter, Decimal("200.00"), "floor", NOW)
    respond(case, Party.payer, Decision.counter, Decimal("150.00"), None, NOW)
    respond(case, Party.provider, Decision.accept, None, None, NOW)
    assert case.agreed_amount == Decimal("150.00")
    assert [o.seq for o in case.offers] == [1, 2, 3]


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        ([(Party.payer, Decision.accept, None)], "payer made the latest offer"),
        ([(Party.provider, Decision.counter, None)], "needs an amount"),
        ([(Party.provider, Decision.counter, "100.00")], "above the payer's offer"),
        ([(Party.provider, Decision.counter, "300.01")], "cannot exceed the billed"),
        (
            [(Party.provider, Decision.counter, "200.00"), (Party.payer, Decision.counter, "250.00")],
            "below the provider",
        ),
        ([(Party.provider, Decision.accept, "99.00")], "accept agrees to the latest offer"),
    ],
)
def test_out_of_turn_or_out_of_range_responses_are_refused(steps, error: str) -> None:  # type: ignore[no-untyped-def]
    case = _case()
    *before, (party, decision, amount) = steps
    for p, d, a in before:
        respond(case, p, d, Decimal(a) if a else None, None, NOW)
    with pytest.raises(Unprocessable, match=error):
        respond(case, party, decision, Decimal(amount) if amount else None, None, NOW)


def test_an_agreed_case_takes_no_more_responses_and_settles_once() -> None:
    case = _case()
    respond(case, Party.provider, Decision.accept, None, None, NOW)
    with pytest.raises(Conflict):
        respond(case, Party.payer, Decision.counter, Decimal("1.00"), None, NOW)
    assert settle(case, NOW) is True
    assert settle(case, NOW) is False
    assert case.status == CaseStatus.settled


def test_an_open_case_cannot_settle() -> None:
    with pytest.raises(Conflict):
        settle(_case(), NOW)
