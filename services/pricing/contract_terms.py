"""Repricing a bill by a PPO contract or a direct agreement's terms.

- percent of billed: each line at the percent of its charge;
- per diem: the rate × the days of the stay (discharge − admission, at least one; without dates, the
  number of distinct service dates), shared over the lines in proportion to their charges;
- percent of a fee schedule: the percent of Medicare (PFS for professional lines, OPPS for outpatient
  facility lines), or of a loaded jurisdiction fee schedule (its multiplier × the percent); lines the
  schedule does not price are paid at ``unlisted_percent_of_billed`` when the contract says so.

Allowed is always the lesser of billed and the contract amount (the usual "lesser of" clause).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from services.pricing.importers.terms import TERMS, PercentOfBilled, PercentOfFeeSchedule, PerDiem
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


def stay_days(bill: BillReceivedV1) -> tuple[int, str]:
    if bill.admission_date and bill.discharge_date:
        days = max(1, (bill.discharge_date - bill.admission_date).days)
        return days, f"{days} day(s) from admission {bill.admission_date} to discharge {bill.discharge_date}"
    dates = sorted({line.service_date for line in bill.lines})
    return len(dates), f"{len(dates)} distinct service date(s) (no admission and discharge dates)"


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
        return _per_diem(bill, terms, label)
    return _percent_of_schedule(bill, terms, label, schedule, named_schedule)


def _per_diem(bill: BillReceivedV1, terms: PerDiem, label: str) -> list[LineQuote]:
    days, how = stay_days(bill)
    total = cents(terms.rate * days)
    billed = sum((line.charge for line in bill.lines), Decimal(0))
    quotes: list[LineQuote] = []
    left = total
    for i, line in enumerate(bill.lines):
        last = i == len(bill.lines) - 1
        share = left if last else (cents(total * line.charge / billed) if billed else Decimal(0))
        left -= share
        basis = (
            f"{label}: per diem {terms.rate} × {how} = {total} for the stay, shared by billed charges: "
            f"this line's share {share}"
        )
        quotes.append(priced(line, share, basis))
    return quotes


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
        multiplier = Multiplier(
            base.factor * terms.percent / HUNDRED,
            f"{label}: {terms.percent}% of {base.source} (× {base.factor})",
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
