"""Inpatient stays (type of bill 11x): priced per stay, by MS-DRG, then shared over the lines.

Medicare IPPS (42 CFR 412; the fiscal year's final rule, Tables 1A/1B and 5):

    operating = relative weight (Table 5, 10% cap applied)
                × (labor share × wage index + non-labor share)         (standardized amount)
    capital   = capital federal rate × relative weight × GAF,  GAF = wage index ^ 0.6848
    IPPS      = operating + capital                                   (each rounded to cents)

The labor and non-labor shares are the pair for a wage index above 1 (66% labor) or at most 1 (62%).
The wage index is the hospital's from a loaded wage-index table (by its CCN, else its CBSA, from the
facility registry), else 1.0 (national), said in the basis. The fiscal year is the one of the discharge
date, else the latest loaded, said in the basis. Not applied, and said so rather than guessed: the
transfer rule (discharge status 02, 05, 66… and post-acute transfers of post-acute MS-DRGs), high-cost
outlier payments (they need the hospital's cost-to-charge ratio), and the hospital-specific adjustments
(IME, DSH, uncompensated care, value-based purchasing, readmissions). A stay without an MS-DRG is not
priced by IPPS: Parley does not group stays itself.

A stay amount is shared over the stay's lines in proportion to their charges (the last line takes the
cents left), so the rest of the workflow keeps working line by line; each line is allowed the lesser of
its charge and its share. Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.pricing.models import DrgWeight, IppsRate, WageIndex
from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, BillReceivedV1, ClaimType

ONE = Decimal(1)
GAF_PLACES = Decimal("0.0001")
# UB-04 patient discharge status: transfers to another acute hospital (any MS-DRG) …
ACUTE_TRANSFERS = {
    "02": "a short-term general hospital",
    "05": "a designated cancer center or children's hospital",
    "66": "a critical access hospital",
    "82": "a short-term general hospital, with a planned readmission",
    "85": "a designated cancer center or children's hospital, with a planned readmission",
    "94": "a critical access hospital, with a planned readmission",
}
# … and to post-acute care (only for MS-DRGs Table 5 marks post-acute).
POST_ACUTE_TRANSFERS = {
    "03": "a skilled nursing facility",
    "06": "home health care",
    "62": "an inpatient rehabilitation facility",
    "63": "a long-term care hospital",
    "65": "a psychiatric hospital or unit",
    "83": "a skilled nursing facility, with a planned readmission",
    "86": "home health care, with a planned readmission",
    "90": "an inpatient rehabilitation facility, with a planned readmission",
    "91": "a long-term care hospital, with a planned readmission",
    "93": "a psychiatric hospital or unit, with a planned readmission",
}


def is_inpatient(bill: BillReceivedV1) -> bool:
    """Type of bill 11x: a hospital inpatient stay (Part A), priced per stay."""
    return bill.claim_type is ClaimType.institutional and (bill.type_of_bill or "").lstrip("0").startswith(
        "11"
    )


def fiscal_year(on: date) -> int:
    """The federal fiscal year of a date: FY2026 runs 2025-10-01 to 2026-09-30."""
    return on.year + 1 if on.month >= 10 else on.year


def stay_end(bill: BillReceivedV1) -> date:
    return bill.discharge_date or max(line.service_date for line in bill.lines)


@dataclass(frozen=True)
class Ipps:
    """A stay's Medicare IPPS amount, every factor kept for the basis."""

    drg: str
    fiscal_year: int
    weight: Decimal
    wage_index: Decimal
    wage_source: str
    labor: Decimal
    nonlabor: Decimal
    operating: Decimal
    capital_rate: Decimal
    gaf: Decimal
    capital: Decimal
    total: Decimal
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"Medicare IPPS FY{self.fiscal_year} MS-DRG {self.drg}: "
            f"operating = weight {self.weight} × "
            f"(labor {self.labor} × wage index {self.wage_index} + non-labor {self.nonlabor}) = "
            f"{self.operating}; capital = federal rate {self.capital_rate} × {self.weight} × "
            f"GAF {self.gaf} = "
            f"{self.capital}; IPPS {self.operating} + {self.capital} = {self.total} ({self.wage_source})"
            + "".join(f"; {n}" for n in self.notes)
        )


def ipps(
    bill: BillReceivedV1,
    weights: Sequence[DrgWeight],
    rates: Sequence[IppsRate],
    wage: WageIndex | None,
    wage_missing: str,
) -> Ipps | str:
    """The stay's IPPS amount from the MS-DRG's weights and the rates on file, or why it cannot be."""
    if not bill.drg:
        return (
            "inpatient stay without an MS-DRG on the claim: Medicare pays stays by MS-DRG and Parley does "
            "not group stays itself; ask the provider for the MS-DRG billed (837I HI*DR)"
        )
    if not rates:
        return "no IPPS rates (standardized amounts, capital rate) are loaded"
    wanted = fiscal_year(stay_end(bill))
    by_year = {r.fiscal_year: r for r in rates}
    year = wanted if wanted in by_year else max(by_year)
    notes = (
        []
        if year == wanted
        else [f"discharge in FY{wanted}, whose rates are not loaded: FY{year} rates used"]
    )
    weight_row = next((w for w in weights if w.fiscal_year == year and w.drg == bill.drg), None)
    if weight_row is None:
        return f"MS-DRG {bill.drg} is not in the FY{year} MS-DRG table (Table 5) loaded"
    if weight_row.weight is None:
        return f"MS-DRG {bill.drg} ({weight_row.title}) has no relative weight: Medicare does not pay it"
    rate = by_year[year]
    if wage is not None and wage.fiscal_year == year:
        index = wage.wage_index
        source = f"FY{year} wage index of {wage.area_kind.upper()} {wage.area}" + (
            f" {wage.name}" if wage.name else ""
        )
        gaf = wage.gaf
    else:
        index, source, gaf = ONE, f"wage index 1.0 (national): {wage_missing}", None
    labor, nonlabor = (
        (rate.labor_above_1, rate.nonlabor_above_1)
        if index > ONE
        else (rate.labor_at_most_1, rate.nonlabor_at_most_1)
    )
    operating = cents(weight_row.weight * (labor * index + nonlabor))
    if gaf is None:
        gaf = (index**rate.gaf_exponent).quantize(GAF_PLACES)
    capital = cents(rate.capital_rate * weight_row.weight * gaf)
    notes += _not_adjusted(bill, weight_row)
    return Ipps(
        bill.drg,
        year,
        weight_row.weight,
        index,
        source,
        labor,
        nonlabor,
        operating,
        rate.capital_rate,
        gaf,
        capital,
        operating + capital,
        notes,
    )


def _not_adjusted(bill: BillReceivedV1, weight: DrgWeight) -> list[str]:
    notes = []
    status = bill.discharge_status
    if status in ACUTE_TRANSFERS or (status in POST_ACUTE_TRANSFERS and weight.post_acute):
        where = ACUTE_TRANSFERS.get(status or "") or POST_ACUTE_TRANSFERS[status or ""]
        notes.append(
            f"discharge status {status} (transfer to {where}): Medicare's transfer rule may pay less "
            "(a per diem up to the full MS-DRG amount); not applied"
        )
    notes.append(
        "high-cost outlier payment not computed (it needs the hospital's cost-to-charge ratio); "
        "IME, DSH and other hospital-specific adjustments not applied"
    )
    return notes


def stay_days(bill: BillReceivedV1) -> tuple[int, str]:
    """Days of the stay (discharge − admission, at least one), or distinct service dates without dates."""
    if bill.admission_date and bill.discharge_date:
        days = max(1, (bill.discharge_date - bill.admission_date).days)
        return days, f"{days} day(s) from admission {bill.admission_date} to discharge {bill.discharge_date}"
    dates = sorted({line.service_date for line in bill.lines})
    return len(dates), f"{len(dates)} distinct service date(s) (no admission and discharge dates)"


def allocate(lines: Sequence[BillLineV1], total: Decimal, basis: str) -> list[LineQuote]:
    """The stay amount shared over the lines by billed charge; each line allowed the lesser of its
    charge and its share."""
    billed = sum((line.charge for line in lines), Decimal(0))
    quotes: list[LineQuote] = []
    left = total
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        share = left if last else (cents(total * line.charge / billed) if billed else Decimal(0))
        left -= share
        quotes.append(
            priced(
                line,
                share,
                f"{basis}; shared by billed charge ({line.charge} of {billed}): this line {share}",
            )
        )
    return quotes


def unpriced_stay(lines: Sequence[BillLineV1], reason: str) -> list[LineQuote]:
    return [unpriced(line, reason) for line in lines]
