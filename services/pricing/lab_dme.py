"""Clinical laboratory (CLFS) and durable medical equipment (DMEPOS) lines on Medicare's schedules.

- Lab: per unit = the CLFS national limitation amount × the multiplier (a modifier with its own row,
  such as QW, selects it); amount = per unit × units.
- DME: per unit = the DMEPOS fee of the state × the multiplier; the row is the one whose modifiers
  (RR rental, NU new, UE used…) are on the line; the rural fee where the ZIP file marks the ZIP rural
  (R) or super rural (B) and CMS publishes one, else the non-rural fee. Medicare takes the state and
  rural status from the beneficiary's address; Parley keeps no patient address, so the facility's ZIP is
  used and the basis says so.

A year's schedule is the one of the line's date of service, else the latest loaded (said in the basis).
Allowed is the lesser of billed and the amount. Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.models import ClinicalLabRate, DmeposFee
from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1

RURAL = {"R": "rural", "B": "super rural"}


@dataclass(frozen=True)
class Scaled:
    factor: Decimal
    source: str


def pick_year(available: Sequence[int], wanted: int) -> tuple[int | None, str]:
    """The wanted year if loaded, else the latest loaded, with a note saying so."""
    if not available:
        return None, ""
    if wanted in available:
        return wanted, ""
    latest = max(available)
    return latest, f"no {wanted} schedule is loaded, so {latest}'s is used"


def _year_of(
    line: BillLineV1, rows: Sequence[ClinicalLabRate] | Sequence[DmeposFee]
) -> tuple[int | None, str]:
    return pick_year(sorted({r.year for r in rows}), line.service_date.year)


def price_lab(line: BillLineV1, rates: Sequence[ClinicalLabRate], multiplier: Scaled) -> LineQuote | None:
    """The line on the CLFS, or None when the CLFS has no rate for its code."""
    year, note = _year_of(line, rates)
    if year is None:
        return None
    of_year = {r.modifier: r for r in rates if r.year == year}
    modifier = next((m for m in line.modifiers if m in of_year), "")
    rate = of_year.get(modifier)
    if rate is None:
        return None
    per_unit = cents(rate.rate * multiplier.factor)
    amount = cents(per_unit * line.units)
    label = f"{rate.hcpcs}-{modifier}" if modifier else rate.hcpcs
    basis = (
        f"Medicare CLFS {year} {label}: national limitation amount {rate.rate} × {multiplier.factor} "
        f"({multiplier.source}) = {per_unit} per unit × {line.units} = {amount}; allowed is the lesser of "
        f"billed {line.charge} and the schedule"
    )
    if note:
        basis += f"; {note}"
    return priced(line, amount, basis)


def _matching(line: BillLineV1, fees: Sequence[DmeposFee]) -> DmeposFee | None:
    """The most specific row whose modifiers are all on the line (RR rental, NU new, KU…)."""
    on_line = set(line.modifiers)
    fitting = [f for f in fees if {f.modifier, f.modifier2} - {""} <= on_line]
    fitting.sort(key=lambda f: -len({f.modifier, f.modifier2} - {""}))
    return fitting[0] if fitting else None


def price_dme(
    line: BillLineV1,
    fees: Sequence[DmeposFee],
    *,
    state: str,
    rural: str | None,
    multiplier: Scaled,
) -> LineQuote | None:
    """The line on the state's DMEPOS fees, or None when the DMEPOS schedule does not list its code.

    ``rural`` is the ZIP file's indicator ("" urban, R, B) or None when the ZIP is not in it.
    """
    year, note = _year_of(line, fees)
    if year is None:
        return None
    code = line.procedure_code
    in_state = [f for f in fees if f.year == year and f.state == state]
    if not in_state:
        return unpriced(line, f"{code} has no {year} DMEPOS fee in {state}")
    fee = _matching(line, in_state)
    if fee is None:
        options = ", ".join(sorted({" ".join(m for m in (f.modifier, f.modifier2) if m) for f in in_state}))
        return unpriced(
            line, f"{code}: no DMEPOS fee for the line's modifiers; the {year} schedule lists {options}"
        )
    if rural is None:
        where, amount_per = "rural status unknown (ZIP not in the ZIP5 file): non-rural fee", fee.nonrural
    elif rural in RURAL and fee.rural is not None:
        where, amount_per = f"{RURAL[rural]} ZIP: rural fee", fee.rural
    elif rural in RURAL:
        where, amount_per = f"{RURAL[rural]} ZIP, no separate rural fee: non-rural fee", fee.nonrural
    else:
        where, amount_per = "urban ZIP: non-rural fee", fee.nonrural
    if amount_per is None:
        return unpriced(line, f"{code}: the {year} DMEPOS schedule has no non-rural fee in {state}")
    per_unit = cents(amount_per * multiplier.factor)
    amount = cents(per_unit * line.units)
    label = " ".join(x for x in (fee.hcpcs, fee.modifier, fee.modifier2) if x)
    basis = (
        f"Medicare DMEPOS {year} {label} {state}, {where} {amount_per} × {multiplier.factor} "
        f"({multiplier.source}) = {per_unit} per unit × {line.units} = {amount}; state and rural status "
        f"of the facility's ZIP; allowed is the lesser of billed {line.charge} and the schedule"
    )
    if note:
        basis += f"; {note}"
    return priced(line, amount, basis)
