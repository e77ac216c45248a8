"""Anesthesia (CPT 00100-01999): paid by units, never by a unit price × minutes.

Medicare: amount = (base units + time units) × the locality's anesthesia conversion factor, time units =
anesthesia minutes ÷ 15, rounded to one decimal (CMS Claims Processing Manual, chapter 12, section 50).
The claim must carry the time in minutes (X12 SV103 ``MJ``, JSON ``unit_of_measure: minutes``); a line
billed in plain units is not priced, since its units may be time units or total units and guessing
either would be wrong by the base units.

Medical direction (the same manual):
- AA anesthesiologist personally performed, QZ CRNA without medical direction: 100%;
- QK medical direction of two to four concurrent procedures, QY of one CRNA, QX CRNA with medical
  direction: 50% each (the anesthesiologist's and the CRNA's claims each get half);
- AD medical supervision of more than four concurrent procedures: three base units, no time units
  (a fourth unit when the physician was present at induction: not known from the claim, not added).
Physical-status modifiers P1-P6 are recorded in the basis; Medicare adds no units for them.

A fee schedule pays the Medicare amount × its professional multiplier, or its own conversion factor
instead of Medicare's. U&C reviews compare charges per anesthesia unit (base + time units).
Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, UnitOfMeasure

TENTH = Decimal("0.1")
HALF = Decimal("0.50")
FULL = Decimal("1")
AD_BASE_UNITS = Decimal("3")
MEDICAL_DIRECTION = {
    "AA": (FULL, "AA anesthesiologist personally performed: 100%"),
    "QZ": (FULL, "QZ CRNA without medical direction: 100%"),
    "QK": (HALF, "QK medical direction of 2-4 concurrent procedures: 50%"),
    "QY": (HALF, "QY medical direction of one CRNA: 50%"),
    "QX": (HALF, "QX CRNA with medical direction: 50%"),
}
PHYSICAL_STATUS = {
    "P1": "a normal healthy patient",
    "P2": "mild systemic disease",
    "P3": "severe systemic disease",
    "P4": "severe systemic disease, a constant threat to life",
    "P5": "moribund",
    "P6": "declared brain-dead",
}


def is_anesthesia(code: str | None) -> bool:
    return code is not None and len(code) == 5 and code.isdigit() and 100 <= int(code) <= 1999


def time_units(minutes: Decimal) -> Decimal:
    """Minutes ÷ 15 to one decimal (61 minutes → 4.1)."""
    return (minutes / 15).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AnesthesiaUnits:
    base: Decimal
    time: Decimal
    total: Decimal
    how: str  # "4 base + 4.1 time units (61 minutes ÷ 15)"


def units_of(line: BillLineV1, base_units: Decimal | None) -> AnesthesiaUnits | str:
    """The line's anesthesia units, or why they cannot be known."""
    code = line.procedure_code
    if base_units is None:
        return f"{code} has no anesthesia base units loaded"
    if "AD" in line.modifiers:
        return AnesthesiaUnits(
            AD_BASE_UNITS, Decimal(0), AD_BASE_UNITS, "AD medical supervision (> 4 concurrent): 3 base units"
        )
    if line.unit_of_measure is not UnitOfMeasure.minutes:
        return (
            f"anesthesia {code} billed in units, not minutes: Medicare pays base units + minutes ÷ 15, and "
            "plain units may be time or total units; bill the anesthesia time in minutes (X12 SV103 MJ, "
            "unit_of_measure minutes) to price it"
        )
    time = time_units(line.units)
    return AnesthesiaUnits(
        base_units,
        time,
        base_units + time,
        f"{base_units.normalize()} base + {time} time units ({line.units.normalize()} minutes ÷ 15)",
    )


def comparison_units(
    lines: Sequence[BillLineV1], base_units: Mapping[str, Decimal]
) -> dict[int, Decimal | None]:
    """Per anesthesia line, the units its charge is spread over for U&C (None: not comparable)."""
    out: dict[int, Decimal | None] = {}
    for line in lines:
        if is_anesthesia(line.procedure_code):
            found = units_of(line, base_units.get(line.procedure_code or ""))
            out[line.line_number] = found.total if isinstance(found, AnesthesiaUnits) else None
    return out


@dataclass(frozen=True)
class ConversionFactor:
    amount: Decimal
    source: str  # "CF 22.39 (MIAMI, carrier 09102 locality 04, 2025)"


def price_anesthesia(
    line: BillLineV1,
    base_units: Decimal | None,
    medicare_cf: ConversionFactor | None,
    *,
    factor: Decimal,
    factor_source: str,
    own_cf: Decimal | None = None,
) -> LineQuote:
    """One anesthesia line: Medicare's amount × ``factor``, or the units × ``own_cf`` (a fee schedule's)."""
    code = line.procedure_code
    found = units_of(line, base_units)
    if isinstance(found, str):
        return unpriced(line, found)
    direction = [m for m in line.modifiers if m in MEDICAL_DIRECTION]
    share, how = (
        MEDICAL_DIRECTION[direction[0]] if direction else (FULL, "no medical-direction modifier: 100%")
    )
    if "AD" in line.modifiers:
        share, how = FULL, "AD: paid on 3 base units"
    notes = []
    if len(direction) > 1:
        notes.append(
            f"modifiers {', '.join(direction[1:])} conflict with {direction[0]}: {direction[0]} applied"
        )
    status = [m for m in line.modifiers if m in PHYSICAL_STATUS]
    if status:
        notes.append(
            f"physical status {status[0]} ({PHYSICAL_STATUS[status[0]]}) recorded; Medicare adds no units"
        )
    if own_cf is not None:
        full = found.total * own_cf
        amount = cents(full * share)
        basis = (
            f"anesthesia {code}: {found.how} = {found.total} units × CF {own_cf} ({factor_source}) = "
            f"{cents(full)}; {how} = {amount}"
        )
    else:
        if medicare_cf is None:
            return unpriced(
                line, f"no Medicare anesthesia conversion factor is loaded for the locality of {code}"
            )
        full = found.total * medicare_cf.amount
        medicare = cents(full * share)
        amount = cents(medicare * factor)
        basis = (
            f"Medicare anesthesia {code}: {found.how} = {found.total} units × {medicare_cf.source} = "
            f"{cents(full)}; {how} = {medicare}; × {factor} ({factor_source}) = {amount}"
        )
    basis += f"; allowed is the lesser of billed {line.charge} and that"
    if notes:
        basis += "; " + "; ".join(notes)
    return priced(line, amount, basis, code=code)
