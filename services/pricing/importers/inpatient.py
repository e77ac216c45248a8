"""Inpatient (IPPS) reference files: MS-DRG Table 5, the national rates of a fiscal year, wage indexes.

- ``drg-weights`` (``--year`` = the fiscal year): IPPS Table 5 as CMS ships it (tab-separated text in
  Windows-1252 with a two-line title cell, trailing spaces in the header and ``.`` for no value) or as
  CSV or Excel. The weight priced is ``Weights - 10% Cap Applied`` (FY2026 on; ``Weights`` in years
  without a cap); MS-DRGs without a weight (998, 999) are kept, with none.
- ``ipps-rates``: one row per fiscal year with its dates, the operating standardized amount's labor and
  non-labor shares for a wage index above 1 and at most 1 (IPPS Tables 1A/1B), the capital federal
  rate and the GAF exponent. Parley ships FY2026 (``data/cms/IPPS_rates.csv``).
- ``wage-index`` (``--year``): a hospital's wage index by CCN (IPPS Table 2) or an area's by CBSA
  (Table 3), with its GAF when the table gives one. The facility registry's ``ccn`` / ``cbsa`` say
  which row a facility uses.

Each load replaces its fiscal year's rows (``ipps-rates``: the years the file names).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, decimal, optional_decimal, parse_date
from services.pricing.importers.medicare import Batches
from services.pricing.importers.tables import Columns, read_table
from services.pricing.models import DrgWeight, IppsRate, WageIndex

DRG_COLUMNS = Columns(
    required={
        "drg": ("MS-DRG",),
        "mdc": ("MDC",),
        "type": ("TYPE",),
        "title": ("MS-DRG Title",),
        "weight": ("Weights - 10% Cap Applied", "Weights"),
    },
    optional={
        "post_acute": ("*Post-Acute DRG",),
        "special_pay": ("*Special Pay DRG",),
        "gmlos": ("Geometric mean LOS",),
        "amlos": ("Arithmetic mean LOS",),
    },
    keys=("drg",),
)
RATE_COLUMNS = Columns(
    required={
        "fiscal_year": ("fiscal_year", "FY"),
        "starts": ("starts", "discharges_from"),
        "ends": ("ends", "discharges_to"),
        "labor_above_1": ("operating_labor_wage_index_above_1",),
        "nonlabor_above_1": ("operating_nonlabor_wage_index_above_1",),
        "labor_at_most_1": ("operating_labor_wage_index_at_most_1",),
        "nonlabor_at_most_1": ("operating_nonlabor_wage_index_at_most_1",),
        "capital_rate": ("capital_federal_rate",),
        "gaf_exponent": ("capital_gaf_exponent",),
    },
    keys=("fiscal_year",),
)
WAGE_COLUMNS = Columns(
    required={"wage_index": ("Wage Index", "FY * Wage Index", "*Post-Reclass* Wage Index")},
    optional={
        "ccn": ("CCN", "Provider Number", "CMS Certification Number"),
        "cbsa": ("CBSA", "CBSA Code"),
        "name": ("Area Name", "Hospital Name", "Name"),
        "gaf": ("GAF", "FY * GAF", "*Post-Reclass* GAF"),
    },
)


def _flag(value: str) -> bool:
    return value.strip().upper() in ("YES", "Y", "TRUE", "1")


def _no_value(value: str) -> str:
    """CMS writes ``.`` (and sometimes ``*``) where a table has no value."""
    return "" if value.strip() in (".", "*", "-") else value


async def load_drg_weights(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(DrgWeight).where(DrgWeight.fiscal_year == year))
    batches = Batches(session, DrgWeight, summary)
    seen: set[str] = set()
    for number, row in read_table(path, DRG_COLUMNS, summary, progress):
        drg = row["drg"].strip()
        if not (drg.isdigit() and len(drg) <= 3):
            summary.reject(number, f"MS-DRG: {drg!r} is not a three-digit MS-DRG")
            continue
        drg = drg.zfill(3)
        if drg in seen:
            summary.reject(number, f"MS-DRG: {drg} appears twice")
            continue
        try:
            record = {
                "fiscal_year": year,
                "drg": drg,
                "mdc": row["mdc"].strip(),
                "drg_type": row["type"].strip(),
                "title": row["title"].strip(),
                "weight": optional_decimal(_no_value(row["weight"]), "Weights - 10% Cap Applied"),
                "post_acute": _flag(row["post_acute"]),
                "special_pay": _flag(row["special_pay"]),
                "geometric_los": optional_decimal(_no_value(row["gmlos"]), "Geometric mean LOS"),
                "arithmetic_los": optional_decimal(_no_value(row["amlos"]), "Arithmetic mean LOS"),
            }
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        if record["weight"] is None:
            summary.keep_out("MS-DRGs without a relative weight (kept, never priced)")
        seen.add(drg)
        await batches.add(record)
    await batches.flush()


async def load_ipps_rates(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    records: list[dict[str, Any]] = []
    for number, row in read_table(path, RATE_COLUMNS, summary, progress):
        try:
            if not row["fiscal_year"].isdigit():
                raise ValueError("fiscal_year: not a year")
            starts, ends = parse_date(row["starts"], "starts"), parse_date(row["ends"], "ends")
            if starts is None or ends is None or ends < starts:
                raise ValueError("starts, ends: give the fiscal year's first and last discharge dates")
            record: dict[str, Any] = {"fiscal_year": int(row["fiscal_year"]), "starts": starts, "ends": ends}
            for name in RATE_COLUMNS.required:
                if name not in record:
                    record[name] = decimal(row[name], RATE_COLUMNS.required[name][0])
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        records.append(record)
    years = sorted({r["fiscal_year"] for r in records})
    if len(years) != len(records):
        summary.reject(0, "fiscal_year: a year appears twice; nothing of this file was loaded")
        return
    await session.execute(delete(IppsRate).where(IppsRate.fiscal_year.in_(years)))
    batches = Batches(session, IppsRate, summary)
    for record in records:
        await batches.add(record)
    await batches.flush()


async def load_wage_index(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(WageIndex).where(WageIndex.fiscal_year == year))
    batches = Batches(session, WageIndex, summary)
    seen: set[tuple[str, str]] = set()
    for number, row in read_table(path, WAGE_COLUMNS, summary, progress):
        ccn, cbsa = row["ccn"].strip().upper(), row["cbsa"].strip()
        key = ("ccn", ccn) if ccn else ("cbsa", cbsa.zfill(5)) if cbsa else None
        if key is None:
            summary.reject(number, "CCN, CBSA: a row needs the hospital's CCN or the area's CBSA")
            continue
        if key in seen:
            summary.reject(number, f"{key[0].upper()}: {key[1]} appears twice")
            continue
        try:
            wage_index = decimal(_no_value(row["wage_index"]), "Wage Index")
            if not 0 < wage_index < 10:
                raise ValueError("Wage Index: not a wage index (expected about 0.2 to 3)")
            record = {
                "fiscal_year": year,
                "area_kind": key[0],
                "area": key[1],
                "name": row["name"].strip(),
                "wage_index": wage_index,
                "gaf": optional_decimal(_no_value(row["gaf"]), "GAF"),
            }
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(key)
        await batches.add(record)
    await batches.flush()
