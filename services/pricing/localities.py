"""The Medicare locality of a bill: from the facility's ZIP code, never guessed.

CMS prices physician, anesthesia and DMEPOS services by where they were performed: the ZIP code's
carrier and pricing locality (CMS ZIP5 file), or for a ZIP+4 listed in the ZIP9 file, its range's
locality (ZIP codes that straddle localities). Only when the ZIP is not in the loaded file (or no ZIP
file is loaded) does a state with several localities fall back to its rest-of-state locality, and the
basis says so. The rural indicator (blank urban, R rural, B super rural) picks DMEPOS's rural fees.
Pure functions: the caller fetches the ZIP's rows and the state's GPCI rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.models import Gpci, ZipLocality


@dataclass(frozen=True)
class MedicareArea:
    """Where a ZIP is priced; ``carrier`` None when the ZIP is not in the loaded file."""

    carrier: str | None
    locality: str | None
    rural: str | None  # "" urban, R, B; None unknown
    note: str


@dataclass(frozen=True)
class Locality:
    name: str
    mac: str
    number: str
    work: Decimal
    pe: Decimal
    mp: Decimal
    note: str


def area_of(zip_code: str, rows: Sequence[ZipLocality], zip_file_loaded: bool) -> MedicareArea:
    """The carrier, locality and rural indicator of a 5- or 9-digit ZIP from its ZIP5/ZIP9 rows."""
    zip5, plus4 = zip_code[:5], zip_code[5:9]
    if plus4:
        for row in rows:
            if row.plus4_low and row.plus4_low <= plus4 <= row.plus4_high:
                return MedicareArea(
                    row.carrier,
                    row.locality,
                    row.rural,
                    f"ZIP+4 {zip5}-{plus4} is in CMS ZIP9 range {row.plus4_low}-{row.plus4_high}: carrier "
                    f"{row.carrier} locality {row.locality}",
                )
    for row in rows:
        if not row.plus4_low:
            return MedicareArea(
                row.carrier,
                row.locality,
                row.rural,
                f"ZIP {zip5} is carrier {row.carrier} locality {row.locality} "
                f"in the CMS ZIP5 file ({row.quarter})",
            )
    why = f"ZIP {zip5} is not in the loaded ZIP5 file" if zip_file_loaded else "no ZIP5 file is loaded"
    return MedicareArea(None, None, None, why)


def choose_locality(state: str, rows: Sequence[Gpci], area: MedicareArea | None = None) -> Locality | None:
    """The GPCI locality of the ZIP's carrier and locality; without one, the state's only locality, or
    its rest-of-state locality, saying why."""
    if not rows:
        return None
    if area is not None and area.carrier is not None:
        found = [r for r in rows if (r.mac, r.locality) == (area.carrier, area.locality)]
        if found:
            return _locality(found[0], area.note)
    why = area.note if area is not None else "no ZIP5 file is loaded"
    if area is not None and area.carrier is not None:
        why = f"{area.note}, which has no {state} GPCI row"
    if len(rows) == 1:
        return _locality(
            rows[0], f"statewide locality ({why})" if area and area.carrier else "statewide locality"
        )
    rest = [r for r in rows if r.locality_name.upper().startswith("REST OF")]
    row = rest[0] if rest else min(rows, key=lambda r: r.locality)
    return _locality(
        row, f"{state} has {len(rows)} localities and {why}, so the {row.locality_name} locality is used"
    )


def _locality(row: Gpci, note: str) -> Locality:
    return Locality(row.locality_name, row.mac, row.locality, row.work, row.pe, row.mp, note)
