"""Fee-schedule amounts: Medicare physician fee schedule (PFS) and OPPS, times a multiplier.

Professional line:  fee = (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI) × conversion
factor, rounded to cents as Medicare does; per unit = fee × multiplier (rounded); amount = per unit ×
units. Outpatient facility line: per unit = OPPS payment rate × multiplier (rounded); amount = per unit
× units; status N is packaged (paid inside other services: 0.00), Q1 is packaged when the claim has an
S, T or V service and Q2 when it has a T service (CMS's "same claim" rule). Allowed is the lesser of
billed and the amount. A line a schedule does not cover is reported as unpriced with the reason, never
guessed. Every number in the basis text can be checked by hand.

Pure functions: no database, no clock. The multiplier comes from a jurisdiction's fee schedule or from
a contract that pays a percent of a schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.models import Gpci, OppsRate, RelativeValue
from services.pricing.quotes import LineQuote, priced, unpriced
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1

# CMS place-of-service codes paid at the facility practice-expense RVU.
FACILITY_PLACES_OF_SERVICE = frozenset(
    {"19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)

PAYABLE_STATUS = frozenset({"A", "R", "T"})
UNPAYABLE_STATUS = {
    "B": "bundled: Medicare pays for it inside another service",
    "C": "carrier-priced: the fee schedule has no national relative values for it",
    "D": "deleted code",
    "E": "excluded from the physician fee schedule by regulation",
    "I": "not valid for Medicare (another code is used instead)",
    "J": "anesthesia service: priced by base and time units, not relative values",
    "M": "quality measurement code: no payment",
    "N": "not covered by Medicare",
    "P": "bundled or excluded under the fee schedule",
    "X": "statutory exclusion: paid under another schedule (e.g. clinical laboratory)",
}
# Modifiers that select their own RVU row; others are noted as not applied.
PRICED_MODIFIERS = ("26", "TC", "53")

OPPS_UNPAID = {
    "A": "paid under another fee schedule (e.g. clinical laboratory, therapy), not OPPS",
    "B": "not recognised by OPPS on an outpatient bill (an alternate code may apply)",
    "C": "inpatient-only procedure: not paid under OPPS",
    "D": "discontinued code",
    "E1": "not covered by any Medicare outpatient benefit",
    "E2": "no OPPS pricing information",
    "M": "not billable to the Medicare contractor",
    "Q4": "conditionally packaged laboratory test: paid under the lab fee schedule, not loaded",
    "Y": "durable medical equipment: paid under the DMEPOS fee schedule, not OPPS",
}


@dataclass(frozen=True)
class Locality:
    name: str
    work: Decimal
    pe: Decimal
    mp: Decimal
    note: str


@dataclass(frozen=True)
class Multiplier:
    factor: Decimal
    source: str  # e.g. "FL workers' compensation fee schedule" or "contract C-1: 150% of Medicare"


def choose_locality(state: str, rows: Sequence[Gpci]) -> Locality | None:
    """The state's single locality, or its rest-of-state locality while ZIP-level mapping is not loaded."""
    if not rows:
        return None
    if len(rows) == 1:
        row, note = rows[0], "statewide locality"
    else:
        rest = [r for r in rows if r.locality_name.upper().startswith("REST OF")]
        row = rest[0] if rest else min(rows, key=lambda r: r.locality)
        note = (
            f"{state} has {len(rows)} localities and no ZIP-to-locality file is loaded, "
            f"so the {row.locality_name} locality is used"
        )
    return Locality(name=row.locality_name, work=row.work, pe=row.pe, mp=row.mp, note=note)


def price_line(
    line: BillLineV1,
    rvus: Mapping[tuple[str, str], RelativeValue],
    locality: Locality,
    multiplier: Multiplier,
    year: int,
) -> LineQuote:
    """One professional line on the Medicare physician fee schedule × the multiplier."""
    code = line.procedure_code
    if code is None:
        return unpriced(line, "revenue-code line without a CPT/HCPCS code: not on the physician fee schedule")
    priced_modifier = next((m for m in line.modifiers if m in PRICED_MODIFIERS and (code, m) in rvus), "")
    rvu = rvus.get((code, priced_modifier))
    if rvu is None:
        return unpriced(line, f"{code} is not on the {year} Medicare physician fee schedule")
    if rvu.status_code not in PAYABLE_STATUS:
        why = UNPAYABLE_STATUS.get(rvu.status_code, "not payable under the fee schedule")
        return unpriced(line, f"{code} has Medicare status {rvu.status_code}: {why}")
    facility = (line.place_of_service or "") in FACILITY_PLACES_OF_SERVICE
    pe_rvu = rvu.pe_facility_rvu if facility else rvu.pe_nonfacility_rvu
    if rvu.work_rvu + pe_rvu + rvu.mp_rvu == 0:
        return unpriced(
            line, f"{code} has no relative values in the {'facility' if facility else 'office'} setting"
        )
    fee = cents(
        (rvu.work_rvu * locality.work + pe_rvu * locality.pe + rvu.mp_rvu * locality.mp)
        * rvu.conversion_factor
    )
    per_unit = cents(fee * multiplier.factor)
    amount = cents(per_unit * line.units)
    setting = "facility" if facility else "non-facility"
    code_label = f"{code}-{priced_modifier}" if priced_modifier else code
    basis = (
        f"Medicare PFS {year} {code_label} {setting}: ({rvu.work_rvu} work × {locality.work} + {pe_rvu} PE × "
        f"{locality.pe} + {rvu.mp_rvu} MP × {locality.mp}) × CF {rvu.conversion_factor} = {fee}; "
        f"× {multiplier.factor} ({multiplier.source}) = {per_unit} per unit × {line.units} = {amount}; "
        f"locality {locality.name}; allowed is the lesser of billed {line.charge} and the schedule"
    )
    ignored = [m for m in line.modifiers if m != priced_modifier]
    if ignored:
        basis += f"; modifiers {', '.join(ignored)} not applied by this schedule"
    return priced(line, amount, basis, code=code)


def price_professional(
    lines: Sequence[BillLineV1],
    *,
    jurisdiction: str,
    rvus: Mapping[tuple[str, str], RelativeValue],
    localities: Sequence[Gpci],
    multiplier: Multiplier,
    year: int,
) -> tuple[Locality | None, list[LineQuote]]:
    locality = choose_locality(jurisdiction, localities)
    if locality is None:
        reason = f"no Medicare locality (GPCI) is loaded for {jurisdiction}"
        return None, [unpriced(line, reason) for line in lines]
    return locality, [price_line(line, rvus, locality, multiplier, year) for line in lines]


def price_outpatient(
    lines: Sequence[BillLineV1], *, opps: Mapping[str, OppsRate], multiplier: Multiplier, year: int
) -> list[LineQuote]:
    """Outpatient facility lines on OPPS Addendum B × the multiplier, with same-claim packaging."""
    on_claim = {rate.status_indicator for line in lines if (rate := opps.get(line.procedure_code or ""))}
    quotes = []
    for line in lines:
        code = line.procedure_code
        if code is None:
            quotes.append(unpriced(line, "revenue-code line without a HCPCS code: OPPS pays by HCPCS"))
            continue
        rate = opps.get(code)
        if rate is None:
            quotes.append(unpriced(line, f"{code} is not in the {year} OPPS Addendum B"))
            continue
        si = rate.status_indicator
        packaged_by = (
            "status N: always packaged"
            if si == "N"
            else "status Q1 on a claim with an S, T or V service"
            if si == "Q1" and on_claim & {"S", "T", "V"}
            else "status Q2 on a claim with a T service"
            if si == "Q2" and "T" in on_claim
            else None
        )
        if packaged_by:
            basis = f"OPPS {year} {code}: packaged ({packaged_by}); paid inside the other services: 0.00"
            quotes.append(priced(line, Decimal("0.00"), basis))
            continue
        if rate.payment_rate is None:
            why = OPPS_UNPAID.get(si, "no OPPS payment rate")
            quotes.append(unpriced(line, f"{code} has OPPS status {si}: {why}"))
            continue
        per_unit = cents(rate.payment_rate * multiplier.factor)
        amount = cents(per_unit * line.units)
        basis = (
            f"OPPS {year} {code} status {si}, APC {rate.apc}: national payment rate {rate.payment_rate} × "
            f"{multiplier.factor} ({multiplier.source}) = {per_unit} per unit × {line.units} = {amount}; "
            f"allowed is the lesser of billed {line.charge} and the schedule"
        )
        if si in ("J1", "J2"):
            basis += "; comprehensive-APC packaging of other lines is not applied"
        quotes.append(priced(line, amount, basis))
    return quotes
