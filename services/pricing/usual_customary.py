"""The U&C step of the decision: which services a bill is reviewed as, and the quotes from the reviews.

A bill's lines are reviewed one by one (same code and setting). Two exceptions:
- an inpatient stay with an MS-DRG is reviewed as one service, ``DRG885`` (line number 0 in the
  reviews: the whole stay), against observations of whole stays (hospitals' MS-DRG rows, bills received
  with that MS-DRG, accepted payments); the stay's target is then shared over the lines by charge;
- an anesthesia line is compared per anesthesia unit (base + time units), never per minute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.config import PricingSettings
from services.pricing.inpatient import allocate, is_inpatient
from services.pricing.models import Facility
from services.pricing.quotes import LineQuote, priced, total_allowed, unpriced
from services.pricing.reviews import Peers, Place, ReviewedLine, UcResult, chains, review
from services.pricing.scope_figures import scope_figures
from services.pricing.service_codes import cents, service_code, stay_code
from shared.contracts import BillReceivedV1, ClaimType, FindingV2

UC_KIND = {"charges": "charge", "allowed": "allowed"}
STAY = 0  # the line number a whole stay is reviewed under


def is_stay_review(bill: BillReceivedV1) -> bool:
    return is_inpatient(bill) and bool(bill.drg)


def place_of(bill: BillReceivedV1, facility: Facility | None) -> Place:
    peers = (
        Peers(facility.facility_type, facility.bed_band, facility.teaching, facility.trauma_level)
        if facility
        else None
    )
    note = (
        ""
        if facility
        else (
            f"no peer comparison: facility {bill.facility.npi or bill.provider.npi} "
            "is not in the facility registry, so its credentials are unknown"
        )
    )
    return Place(bill.facility.state, bill.facility.zip[:3], peers, note)


def reviewed_lines(bill: BillReceivedV1, units: Mapping[int, Decimal | None]) -> list[ReviewedLine]:
    """What the reviews compare: the stay as one service, or each line (anesthesia per unit)."""
    if is_stay_review(bill):
        billed = sum((line.charge for line in bill.lines), Decimal(0))
        return [ReviewedLine(STAY, stay_code(bill.drg or ""), "facility", Decimal(1), billed)]
    setting = "professional" if bill.claim_type is ClaimType.professional else "facility"
    out = []
    for line in bill.lines:
        code = service_code(line.procedure_code, line.revenue_code, line.modifiers)
        compared = units.get(line.line_number, line.units)
        out.append(
            ReviewedLine(
                line.line_number, code if compared else None, setting, compared or line.units, line.charge
            )
        )
    return out


async def usual_and_customary(
    session: AsyncSession,
    bill: BillReceivedV1,
    settings: PricingSettings,
    facility: Facility | None,
    units: Mapping[int, Decimal | None],
    percentile: int,
    basis: str,
) -> UcResult:
    lines = reviewed_lines(bill, units)
    place = place_of(bill, facility)
    least = settings.uc_min_observations
    figures = await scope_figures(session, UC_KIND[basis], percentile, least, chains(lines, place))
    return review(lines, place, figures, percentile=percentile, basis=basis, min_observations=least)


def _per_review(uc: UcResult, number: int) -> str:
    return "; ".join(
        f"{r.kind.value} {x.allowance}"
        for r in uc.summary.reviews
        for x in r.lines
        if x.line_number == number and x.allowance is not None
    )


def uc_quotes(bill: BillReceivedV1, uc: UcResult) -> list[LineQuote]:
    summary = f"U&C {uc.summary.percentile}th percentile of {uc.summary.basis}"
    if is_stay_review(bill):
        target = uc.targets[STAY]
        if target.amount is None:
            return [
                unpriced(line, f"stay reviewed as MS-DRG {bill.drg}: {target.note}") for line in bill.lines
            ]
        basis = (
            f"{summary}, the stay reviewed as one service (MS-DRG {bill.drg}): {_per_review(uc, STAY)}; "
            f"{target.note} = {target.amount} for the stay"
        )
        return allocate(bill.lines, target.amount, basis)
    quotes = []
    for line in bill.lines:
        target = uc.targets[line.line_number]
        if target.amount is None:
            quotes.append(unpriced(line, target.note))
            continue
        basis = (
            f"{summary}: {_per_review(uc, line.line_number)}; {target.note} = {target.amount}; "
            f"allowed is the lesser of billed {line.charge} and that"
        )
        quotes.append(priced(line, target.amount, basis))
    return quotes


def contract_above_uc(
    bill: BillReceivedV1, quotes: Sequence[LineQuote], uc: UcResult, label: str
) -> list[FindingV2]:
    if is_stay_review(bill):
        target = uc.targets[STAY]
        paid = total_allowed(quotes)
        if (
            target.allowance is not None
            and any(q.allowed is not None for q in quotes)
            and paid > target.allowance
        ):
            return [
                FindingV2(
                    rule="contract_above_uc",
                    line_number=None,
                    amount_at_stake=cents(paid - target.allowance),
                    detail=f"{label} pays {paid} for the stay, above the U&C median {target.allowance} "
                    f"for MS-DRG {bill.drg}",
                )
            ]
        return []
    findings = []
    for quote in quotes:
        target = uc.targets[quote.line_number]
        if quote.allowed is not None and target.allowance is not None and quote.allowed > target.allowance:
            findings.append(
                FindingV2(
                    rule="contract_above_uc",
                    line_number=quote.line_number,
                    amount_at_stake=cents(quote.allowed - target.allowance),
                    detail=(
                        f"{label} pays {quote.allowed}, above the U&C median {target.allowance} for this line"
                    ),
                )
            )
    return findings
