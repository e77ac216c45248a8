"""Fee-schedule amounts: Medicare physician fee schedule (PFS) and OPPS, times a multiplier.

Professional line:  fee = (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI) × conversion
factor, rounded to cents as Medicare does; per unit = fee × multiplier (rounded); amount = per unit ×
units. Outpatient facility line: per unit = OPPS payment rate × multiplier (rounded); amount = per unit
× units; status N is packaged (paid inside other services: 0.00), Q1 is packaged when the claim has an
S, T or V service and Q2 when it has a T service (CMS's "same claim" rule). Allowed is the lesser of
billed and the amount. A line a schedule does not cover is reported as unpriced with the reason, never
guessed. Every number in the basis text can be checked by hand.

A claim with a comprehensive service (status J1) is paid at its comprehensive APC with the other lines
packaged. Lines OPPS leaves to other schedules (lab, DME) are priced there (``lab_dme``).

Pure functions: no database, no clock. The multiplier comes from a jurisdiction's fee schedule or from
a contract that pays a percent of a schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.localities import Locality
from services.pricing.models import OppsRate, RelativeValue
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
    "Q4": "conditionally packaged laboratory test: paid under the clinical laboratory fee schedule",
    "Y": "durable medical equipment: paid under the DMEPOS fee schedule, not OPPS",
}


@dataclass(frozen=True)
class Multiplier:
    """What a schedule pays relative to Medicare: ``factor`` × the Medicare amount of the line's setting.

    A jurisdiction schedule may name its own multipliers for lab (× CLFS) and DME (× DMEPOS), its own
    anesthesia conversion factor, and a per diem for inpatient stays instead of a factor × IPPS.
    """

    factor: Decimal
    source: str  # e.g. "FL workers' compensation fee schedule" or "contract C-1: 150% of Medicare"
    lab: Decimal | None = None
    dme: Decimal | None = None
    anesthesia_cf: Decimal | None = None
    per_diem: Decimal | None = None

    def scaled(self, fraction: Decimal, source: str) -> Multiplier:
        """This schedule at ``fraction`` of itself (a contract paying a percent of the schedule)."""

        def part(x: Decimal | None) -> Decimal | None:
            return None if x is None else x * fraction

        return Multiplier(
            self.factor * fraction,
            source,
            part(self.lab),
            part(self.dme),
            part(self.anesthesia_cf),
            part(self.per_diem),
        )


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
        f"locality {locality.name} ({locality.note}); allowed is the lesser of billed {line.charge} and "
        "the schedule"
    )
    ignored = [m for m in line.modifiers if m != priced_modifier]
    if ignored:
        basis += f"; modifiers {', '.join(ignored)} not applied by this schedule"
    return priced(line, amount, basis, code=code)


# Not packaged into a comprehensive APC (CMS's C-APC exclusions by status indicator): pass-through drugs
# and devices (G, H), corneal tissue, CRNA services and hepatitis B vaccines (F), influenza and
# pneumococcal vaccines (L), brachytherapy sources (U), DME (Y).
C_APC_EXCLUDED = frozenset({"F", "G", "H", "L", "U", "Y"})
# Other services on the claim that make a Q4 laboratory test packaged.
Q4_PACKAGED_WITH = frozenset({"J1", "J2", "S", "T", "V", "Q1", "Q2", "Q3"})
# Prices a line OPPS does not pay on a schedule of its own (CLFS, DMEPOS); returns the line unpriced
# with the reason given when neither covers it.
OtherSchedule = Callable[[BillLineV1, str], LineQuote]


def _comprehensive(lines: Sequence[BillLineV1], opps: Mapping[str, OppsRate]) -> BillLineV1 | None:
    """The claim's primary J1 service: the one with the highest OPPS payment rate."""
    j1 = [
        (rate.payment_rate, -line.line_number, line)
        for line in lines
        if (rate := opps.get(line.procedure_code or "")) is not None
        and rate.status_indicator == "J1"
        and rate.payment_rate is not None
    ]
    return max(j1, key=lambda x: (x[0], x[1]))[2] if j1 else None


def price_outpatient(
    lines: Sequence[BillLineV1],
    *,
    opps: Mapping[str, OppsRate],
    multiplier: Multiplier,
    year: int,
    other: OtherSchedule,
) -> list[LineQuote]:
    """Outpatient facility lines on OPPS Addendum B × the multiplier, with same-claim packaging.

    A claim with a comprehensive service (status J1) is paid at that service's APC, and every other
    line is packaged into it (0.00) except the statuses CMS excludes from comprehensive APCs; with two
    or more J1 services the highest-paid one is primary (complexity adjustments are not applied).
    Lines OPPS pays under another schedule (status A, a Q4 lab test not packaged, Y) or does not list
    go to ``other`` (CLFS, DMEPOS).
    """
    on_claim = {rate.status_indicator for line in lines if (rate := opps.get(line.procedure_code or ""))}
    primary = _comprehensive(lines, opps)
    quotes = []
    for line in lines:
        code = line.procedure_code
        rate = opps.get(code or "")
        if (
            primary is not None
            and line is not primary
            and (rate is None or rate.status_indicator not in C_APC_EXCLUDED)
        ):
            primary_rate = opps[primary.procedure_code or ""]
            basis = (
                f"OPPS {year}: packaged into comprehensive APC {primary_rate.apc} "
                f"({primary.procedure_code}, status J1, line {primary.line_number}): paid inside it: 0.00"
            )
            if rate is not None and rate.status_indicator == "J1":
                basis += "; a second J1 service (complexity adjustment not applied)"
            quotes.append(priced(line, Decimal("0.00"), basis))
            continue
        if code is None:
            quotes.append(unpriced(line, "revenue-code line without a HCPCS code: OPPS pays by HCPCS"))
            continue
        if rate is None:
            quotes.append(other(line, f"{code} is not in the {year} OPPS Addendum B"))
            continue
        si = rate.status_indicator
        packaged_by = (
            "status N: always packaged"
            if si == "N"
            else "status Q1 on a claim with an S, T or V service"
            if si == "Q1" and on_claim & {"S", "T", "V"}
            else "status Q2 on a claim with a T service"
            if si == "Q2" and "T" in on_claim
            else "status Q4 laboratory test on a claim with a separately paid OPPS service"
            if si == "Q4" and on_claim & Q4_PACKAGED_WITH
            else None
        )
        if packaged_by:
            basis = f"OPPS {year} {code}: packaged ({packaged_by}); paid inside the other services: 0.00"
            quotes.append(priced(line, Decimal("0.00"), basis))
            continue
        if rate.payment_rate is None:
            why = OPPS_UNPAID.get(si, "no OPPS payment rate")
            reason = f"{code} has OPPS status {si}: {why}"
            quotes.append(other(line, reason) if si in ("A", "Q4", "Y") else unpriced(line, reason))
            continue
        per_unit = cents(rate.payment_rate * multiplier.factor)
        amount = cents(per_unit * line.units)
        basis = (
            f"OPPS {year} {code} status {si}, APC {rate.apc}: national payment rate {rate.payment_rate} × "
            f"{multiplier.factor} ({multiplier.source}) = {per_unit} per unit × {line.units} = {amount}; "
            f"allowed is the lesser of billed {line.charge} and the schedule"
        )
        if line is primary:
            basis += "; comprehensive APC: the claim's other services are packaged into it"
        elif si == "J2":
            basis += "; comprehensive observation (J2) packaging of other lines is not applied"
        quotes.append(priced(line, amount, basis))
    return quotes
