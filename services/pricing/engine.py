"""Fee-schedule pricing: Medicare physician fee schedule amounts times a jurisdiction's multiplier.

Per line:  fee = (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI) × conversion factor,
rounded to cents as Medicare does; schedule = fee × jurisdiction multiplier (rounded) × units; allowed =
the lesser of the billed charge and the schedule. A line the schedule does not cover is reported as
unpriced with the reason, never guessed. Every number in the basis text can be checked by hand.

Pure functions: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.pricing.models import Gpci, RelativeValue
from shared.contracts import BillLineV1

CENT = Decimal("0.01")

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


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Locality:
    name: str
    work: Decimal
    pe: Decimal
    mp: Decimal
    note: str


@dataclass(frozen=True)
class LineQuote:
    line_number: int
    code: str | None
    modifiers: tuple[str, ...]
    units: Decimal
    billed: Decimal
    schedule_amount: Decimal | None
    allowed: Decimal | None
    basis: str
    reason: str | None = None


@dataclass(frozen=True)
class BillQuote:
    locality: Locality | None
    multiplier: Decimal | None
    lines: tuple[LineQuote, ...]

    @property
    def total_allowed(self) -> Decimal:
        return sum((q.allowed for q in self.lines if q.allowed is not None), Decimal("0"))

    @property
    def unpriced_billed(self) -> Decimal:
        return sum((q.billed for q in self.lines if q.allowed is None), Decimal("0"))

    @property
    def total_billed(self) -> Decimal:
        return sum((q.billed for q in self.lines), Decimal("0"))


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


def _unpriced(line: BillLineV1, reason: str) -> LineQuote:
    return LineQuote(
        line_number=line.line_number,
        code=line.procedure_code or line.revenue_code,
        modifiers=tuple(line.modifiers),
        units=line.units,
        billed=line.charge,
        schedule_amount=None,
        allowed=None,
        basis="not priced",
        reason=reason,
    )


def price_line(
    line: BillLineV1,
    rvus: Mapping[tuple[str, str], RelativeValue],
    locality: Locality,
    multiplier: Decimal,
    multiplier_source: str,
    year: int,
) -> LineQuote:
    code = line.procedure_code
    if code is None:
        return _unpriced(
            line, "revenue-code line without a CPT/HCPCS code: not on the physician fee schedule"
        )
    priced_modifier = next((m for m in line.modifiers if m in PRICED_MODIFIERS and (code, m) in rvus), "")
    rvu = rvus.get((code, priced_modifier))
    if rvu is None:
        return _unpriced(line, f"{code} is not on the {year} Medicare physician fee schedule")
    if rvu.status_code not in PAYABLE_STATUS:
        why = UNPAYABLE_STATUS.get(rvu.status_code, "not payable under the fee schedule")
        return _unpriced(line, f"{code} has Medicare status {rvu.status_code}: {why}")
    facility = (line.place_of_service or "") in FACILITY_PLACES_OF_SERVICE
    pe_rvu = rvu.pe_facility_rvu if facility else rvu.pe_nonfacility_rvu
    if rvu.work_rvu + pe_rvu + rvu.mp_rvu == 0:
        return _unpriced(
            line, f"{code} has no relative values in the {'facility' if facility else 'office'} setting"
        )
    fee = cents(
        (rvu.work_rvu * locality.work + pe_rvu * locality.pe + rvu.mp_rvu * locality.mp)
        * rvu.conversion_factor
    )
    per_unit = cents(fee * multiplier)
    schedule = cents(per_unit * line.units)
    allowed = min(line.charge, schedule)
    setting = "facility" if facility else "non-facility"
    code_label = f"{code}-{priced_modifier}" if priced_modifier else code
    basis = (
        f"Medicare PFS {year} {code_label} {setting}: ({rvu.work_rvu} work × {locality.work} + {pe_rvu} PE × "
        f"{locality.pe} + {rvu.mp_rvu} MP × {locality.mp}) × CF {rvu.conversion_factor} = {fee}; "
        f"× {multiplier} ({multiplier_source}) = {per_unit} per unit × {line.units} = {schedule}; "
        f"locality {locality.name}; allowed is the lesser of billed {line.charge} and the schedule"
    )
    ignored = [m for m in line.modifiers if m != priced_modifier]
    if ignored:
        basis += f"; modifiers {', '.join(ignored)} not applied by this schedule"
    return LineQuote(
        line_number=line.line_number,
        code=code,
        modifiers=tuple(line.modifiers),
        units=line.units,
        billed=line.charge,
        schedule_amount=schedule,
        allowed=allowed,
        basis=basis,
    )


def price_bill(
    lines: Iterable[BillLineV1],
    *,
    jurisdiction: str,
    rvus: Mapping[tuple[str, str], RelativeValue],
    localities: Sequence[Gpci],
    multiplier: tuple[Decimal, str] | None,
    year: int,
) -> BillQuote:
    locality = choose_locality(jurisdiction, localities)
    if multiplier is None:
        reason = f"no fee schedule is configured for jurisdiction {jurisdiction}"
        return BillQuote(locality, None, tuple(_unpriced(line, reason) for line in lines))
    if locality is None:
        reason = f"no Medicare locality (GPCI) is loaded for {jurisdiction}"
        return BillQuote(None, multiplier[0], tuple(_unpriced(line, reason) for line in lines))
    factor, source = multiplier
    quotes = tuple(price_line(line, rvus, locality, factor, source, year) for line in lines)
    return BillQuote(locality, factor, quotes)
