"""Medicare schedules for anesthesia, clinical laboratory and DMEPOS, read as CMS ships them.

- ``anesthesia-cf`` (``--year``): the ANES file, conversion factor by contractor and locality (CSV
  with trailing spaces, text or Excel; leading zeros of contractor and locality kept). The CF column is
  the one whose header names the CF (``National Anes CF of 20.3178``, ``Anesthesia CF``, ``Conversion
  Factor``).
- ``anesthesia-base-units``: base units per anesthesia code (CMS's text with its header over three
  lines, CSV or Excel). Base units rarely change: the latest file replaces all codes.
- ``clfs`` (``--year``): the Clinical Laboratory Fee Schedule (CSV with its preamble, text or Excel):
  ``HCPCS``, ``MOD``, ``RATE`` (national limitation amount), ``INDICATOR``.
- ``dmepos`` (``--year``): the DMEPOS fee schedule (Excel as shipped, or CSV): ``HCPCS``, ``Mod``,
  ``Mod2``, ``CATG`` and one ``XX (NR)`` and ``XX (R)`` column per state. A fee of 0.00 is CMS's "no fee
  here": no rural fee means the non-rural fee applies, and neither means the state has no fee.

Each load replaces that year's rows of its table (base units: all of them).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, decimal, optional_decimal
from services.pricing.importers.medicare import Batches
from services.pricing.importers.tables import Columns, read_table
from services.pricing.models import AnesthesiaBaseUnit, AnesthesiaConversionFactor, ClinicalLabRate, DmeposFee
from services.pricing.staging import copy_rows
from shared.codes import US_STATES

ANESTHESIA_CF_COLUMNS = Columns(
    required={
        "mac": ("Contractor", "Carrier", "MAC", "Medicare Administrative Contractor"),
        "locality": ("Locality", "Locality Number"),
        "locality_name": ("Locality Name",),
        "cf": ("*Anes* CF*", "*Anesthesia Conversion Factor*", "Conversion Factor", "CF"),
    },
    keys=("mac",),
)
BASE_UNIT_COLUMNS = Columns(
    required={"code": ("CODE", "Anesthesia Code", "HCPCS", "CPT"), "base_units": ("*BASE UNIT*",)},
    keys=("code",),
)
CLFS_COLUMNS = Columns(
    required={"hcpcs": ("HCPCS",), "modifier": ("MOD", "Modifier"), "rate": ("RATE", "*Limitation Amount*")},
    optional={"indicator": ("INDICATOR",)},
    keys=("hcpcs",),
)
STATES = sorted(US_STATES)
DMEPOS_COLUMNS = Columns(
    required={"hcpcs": ("HCPCS",), "modifier": ("Mod",), "modifier2": ("Mod2",), "category": ("CATG",)},
    optional={
        **{f"{state}:nr": (f"{state} (NR)",) for state in STATES},
        **{f"{state}:r": (f"{state} (R)",) for state in STATES},
    },
    keys=("hcpcs",),
)
DMEPOS_COPY = ("year", "hcpcs", "modifier", "modifier2", "state", "category", "nonrural", "rural")
COPY_BATCH = 20000


def _anesthesia_code(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and 100 <= int(code) <= 1999


async def load_anesthesia_cf(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(AnesthesiaConversionFactor).where(AnesthesiaConversionFactor.year == year))
    batches = Batches(session, AnesthesiaConversionFactor, summary)
    seen: set[tuple[str, str]] = set()
    for number, row in read_table(path, ANESTHESIA_CF_COLUMNS, summary, progress):
        mac, locality = row["mac"].strip(), row["locality"].strip()
        if not (mac.isdigit() and locality.isdigit()):
            summary.reject(number, "Contractor, Locality: not a contractor and locality number")
            continue
        key = (mac.zfill(5), locality.zfill(2))
        if key in seen:
            summary.reject(number, f"Locality: contractor {key[0]} locality {key[1]} appears twice")
            continue
        try:
            cf = decimal(row["cf"], "conversion factor")
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(key)
        await batches.add(
            {
                "year": year,
                "mac": key[0],
                "locality": key[1],
                "locality_name": row["locality_name"].rstrip("*").strip(),
                "conversion_factor": cf,
            }
        )
    await batches.flush()


async def load_anesthesia_base_units(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(AnesthesiaBaseUnit))
    batches = Batches(session, AnesthesiaBaseUnit, summary)
    seen: set[str] = set()
    for number, row in read_table(path, BASE_UNIT_COLUMNS, summary, progress):
        code = row["code"].strip().zfill(5)  # Excel drops the leading zeros of 00100
        if not _anesthesia_code(code):
            summary.reject(number, f"CODE: {row['code']!r} is not an anesthesia code (00100-01999)")
            continue
        if code in seen:
            summary.reject(number, f"CODE: {code} appears twice")
            continue
        try:
            units = decimal(row["base_units"], "BASE UNIT")
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(code)
        await batches.add({"code": code, "base_units": units})
    await batches.flush()


async def load_clfs(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(ClinicalLabRate).where(ClinicalLabRate.year == year))
    batches = Batches(session, ClinicalLabRate, summary)
    seen: set[tuple[str, str]] = set()
    for number, row in read_table(path, CLFS_COLUMNS, summary, progress):
        key = (row["hcpcs"].strip().upper(), row["modifier"].strip().upper())
        if len(key[0]) != 5 or not key[0].isalnum():
            summary.reject(number, f"HCPCS: {key[0]!r} is not a HCPCS code")
            continue
        if key in seen:
            summary.reject(number, f"HCPCS: {key[0]} modifier {key[1] or '(none)'} appears twice")
            continue
        try:
            rate = decimal(row["rate"], "RATE")
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(key)
        await batches.add(
            {"year": year, "hcpcs": key[0], "modifier": key[1], "rate": rate, "indicator": row["indicator"]}
        )
    await batches.flush()


def _fee(value: str, column: str) -> Decimal | None:
    amount = optional_decimal(value, column)
    return amount if amount else None  # 0.00: CMS's "no fee"


async def load_dmepos(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(DmeposFee).where(DmeposFee.year == year))
    pending: list[tuple[Any, ...]] = []
    seen: set[tuple[str, str, str]] = set()
    columns_found = False
    for number, row in read_table(path, DMEPOS_COLUMNS, summary, progress):
        key = (
            row["hcpcs"].strip().upper(),
            row["modifier"].strip().upper(),
            row["modifier2"].strip().upper(),
        )
        if len(key[0]) != 5 or not key[0].isalnum():
            summary.reject(number, f"HCPCS: {key[0]!r} is not a HCPCS code")
            continue
        if key in seen:
            summary.reject(number, f"HCPCS: {' '.join(k for k in key if k)} appears twice")
            continue
        fees = []
        try:
            for state in STATES:
                nonrural = _fee(row[f"{state}:nr"], f"{state} (NR)")
                rural = _fee(row[f"{state}:r"], f"{state} (R)")
                if row[f"{state}:nr"] or row[f"{state}:r"]:
                    columns_found = True
                if nonrural is not None or rural is not None:
                    fees.append((year, *key, state, row["category"].strip(), nonrural, rural))
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(key)
        if not fees:
            summary.keep_out("codes with no fee in any state")
            continue
        summary.rows_loaded += 1
        pending.extend(fees)
        if len(pending) >= COPY_BATCH:
            await copy_rows(session, "dmepos_fees", pending, schema="pricing", columns=DMEPOS_COPY)
            pending = []
    await copy_rows(session, "dmepos_fees", pending, schema="pricing", columns=DMEPOS_COPY)
    if summary.rows_loaded and not columns_found:
        summary.note("no state fee columns (XX (NR), XX (R)) were found")
