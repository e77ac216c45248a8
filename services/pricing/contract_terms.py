"""Repricing a bill by a PPO contract or a direct agreement's terms.

- percent of billed: each line at the percent of its charge;
- per diem: the rate × the days of the stay (discharge − admission, at least one; without dates, the
  number of distinct service dates), shared over the lines in proportion to their charges;
- case rate (inpatient stays): the contract's price for the stay's MS-DRG, shared over the lines by
  charge; a stay of another MS-DRG (or without one) at the contract's per diem or percent of billed when
  it names one, else not priced;
- percent of a fee schedule: the percent of Medicare (PFS, anesthesia, CLFS and DMEPOS for professional
  lines, OPPS for outpatient facility lines, IPPS for inpatient stays), or of a loaded jurisdiction fee
  schedule (its multipliers × the percent); lines the schedule does not price are paid at
  ``unlisted_percent_of_billed`` when the contract says so.

Allowed is always the lesser of billed and the contract amount (the usual "lesser of" clause).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from services.pricing.importers.terms import TERMS, CaseRate, PercentOfBilled, PercentOfFeeSchedule, PerDiem
from services.pricing.inpatient import allocate, is_inpatient, stay_days
from services.pricing.models import Contract
from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.schedules import Multiplier
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, BillReceivedV1

HUNDRED = Decimal(100)

# Prices lines on a schedule (Medicare or a jurisdiction's) at a multiplier; supplied by the caller,
# which knows the bill's claim type, locality and reference data.
SchedulePricer = Callable[[Sequence[BillLineV1], Multiplier], list[LineQuote]]


def contract_label(contract: Contract) -> str:
    kind = "direct agreement" if contract.kind == "agreement" else "PPO contract"
    return f"{kind} {contract.id} ({contract.name})"


def apply_contract(
    contract: Contract,
    bill: BillReceivedV1,
    schedule: SchedulePricer,
    named_schedule: Multiplier | None,
) -> list[LineQuote]:
    """Every line of the bill under the contract's terms.

    ``named_schedule`` is the jurisdiction fee schedule a percent-of-schedule contract names (None when
    it names Medicare, or names a schedule that is not loaded).
    """
    terms = TERMS.validate_python(contract.terms)
    label = contract_label(contract)
    if isinstance(terms, PercentOfBilled):
        return [
            priced(
                line,
                cents(line.charge * terms.percent / HUNDRED),
                f"{label}: {terms.percent}% of billed {line.charge} "
                f"= {cents(line.charge * terms.percent / HUNDRED)}",
            )
            for line in bill.lines
        ]
    if isinstance(terms, PerDiem):
        return _per_diem(bill, terms.rate, label)
    if isinstance(terms, CaseRate):
        return _case_rate(bill, terms, label)
    return _percent_of_schedule(bill, terms, label, schedule, named_schedule)


def _per_diem(bill: BillReceivedV1, rate: Decimal, label: str) -> list[LineQuote]:
    days, how = stay_days(bill)
    total = cents(rate * days)
    return allocate(bill.lines, total, f"{label}: per diem {rate} × {how} = {total} for the stay")


def _percent_of_billed(bill: BillReceivedV1, percent: Decimal, label: str, why: str) -> list[LineQuote]:
    return [
        priced(
            line,
            cents(line.charge * percent / HUNDRED),
            f"{label}: {why}; {percent}% of billed {line.charge} = {cents(line.charge * percent / HUNDRED)}",
        )
        for line in bill.lines
    ]


def _case_rate(bill: BillReceivedV1, terms: CaseRate, label: str) -> list[LineQuote]:
    if not is_inpatient(bill):
        reason = f"{label} pays case rates for inpatient stays (type of bill 11x) only"
        return [unpriced(line, reason) for line in bill.lines]
    rate = terms.rates.get(bill.drg) if bill.drg else None
    if rate is not None:
        return allocate(bill.lines, cents(rate), f"{label}: case rate for MS-DRG {bill.drg} = {cents(rate)}")
    why = f"no case rate for MS-DRG {bill.drg}" if bill.drg else "a stay without an MS-DRG"
    if terms.per_diem is not None:
        return _per_diem(bill, terms.per_diem, f"{label} ({why})")
    if terms.unlisted_percent_of_billed is not None:
        return _percent_of_billed(bill, terms.unlisted_percent_of_billed, label, why)
    return [
        unpriced(line, f"{label}: {why}, and no per diem or percent of billed for other stays")
        for line in bill.lines
    ]


def _percent_of_schedule(
    bill: BillReceivedV1,
    terms: PercentOfFeeSchedule,
    label: str,
    schedule: SchedulePricer,
    base: Multiplier | None,
) -> list[LineQuote]:
    if terms.schedule == "medicare":
        multiplier = Multiplier(terms.percent / HUNDRED, f"{label}: {terms.percent}% of Medicare")
    else:
        if base is None:
            reason = f"{label} pays a percent of fee schedule {terms.schedule!r}, which is not loaded"
            return [unpriced(line, reason) for line in bill.lines]
        multiplier = base.scaled(
            terms.percent / HUNDRED, f"{label}: {terms.percent}% of {base.source} (× {base.factor})"
        )
    quotes = schedule(bill.lines, multiplier)
    if terms.unlisted_percent_of_billed is None:
        return quotes
    out = []
    for line, quote in zip(bill.lines, quotes, strict=True):
        if quote.allowed is None:
            amount = cents(line.charge * terms.unlisted_percent_of_billed / HUNDRED)
            basis = (
                f"{label}: not on the schedule ({quote.reason}); unlisted lines at "
                f"{terms.unlisted_percent_of_billed}% of billed {line.charge} = {amount}"
            )
            quote = priced(line, amount, basis)
        out.append(quote)
    return out
