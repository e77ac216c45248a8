"""The facility registry: the credentials the third U&C review groups peers by.

CSV with a header: ``npi, name, facility_type, beds`` (or ``bed_band``), ``teaching, trauma_level,
state, zip`` and optionally ``ccn`` (CMS certification number) and ``cbsa``, where IPPS wage indexes
are looked up. Rows are upserts by NPI. When a facility's credentials change, its observations move to
the new peer group: their peer cells are taken out under the old credentials and put back under the new
ones, in the same transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress
from services.pricing.importers.tables import Columns, read_table
from services.pricing.observations import refold_facilities
from shared.codes import US_STATES, npi_check_digit_ok

COLUMNS = Columns(
    required={
        "npi": ("npi", "facility_npi"),
        "name": ("name", "facility_name"),
        "facility_type": ("facility_type", "type"),
        "teaching": ("teaching", "teaching_status"),
        "trauma_level": ("trauma_level", "trauma"),
        "state": ("state",),
        "zip": ("zip", "zip_code"),
    },
    optional={
        "beds": ("beds", "bed_count"),
        "bed_band": ("bed_band", "bed_size_band"),
        "ccn": ("ccn", "cms_certification_number", "provider_number"),
        "cbsa": ("cbsa",),
    },
)

BED_BANDS = ("1-49", "50-99", "100-199", "200-299", "300-499", "500+")
TEACHING = {
    "major": "major",
    "minor": "minor",
    "none": "none",
    "yes": "teaching",
    "y": "teaching",
    "no": "none",
    "n": "none",
    "teaching": "teaching",
    "non-teaching": "none",
}
TRAUMA = {
    "i": "I",
    "1": "I",
    "ii": "II",
    "2": "II",
    "iii": "III",
    "3": "III",
    "iv": "IV",
    "4": "IV",
    "v": "V",
    "5": "V",
    "none": "none",
    "": "none",
    "n/a": "none",
}


def bed_band(beds: int) -> str:
    for limit, band in ((50, "1-49"), (100, "50-99"), (200, "100-199"), (300, "200-299"), (500, "300-499")):
        if beds < limit:
            return band
    return "500+"


def facility_record(row: dict[str, str]) -> dict[str, str | None]:
    """One registry row, normalised; ValueError names the column that is wrong."""
    npi = row["npi"].strip()
    if not npi_check_digit_ok(npi):
        raise ValueError("npi: not a valid NPI (10 digits, Luhn check digit)")
    facility_type = row["facility_type"].strip().lower()
    if not facility_type:
        raise ValueError("facility_type: empty")
    if row.get("beds"):
        if not row["beds"].isdigit() or int(row["beds"]) < 1:
            raise ValueError("beds: not a whole number of beds")
        band = bed_band(int(row["beds"]))
    elif row.get("bed_band") in BED_BANDS:
        band = row["bed_band"]
    else:
        raise ValueError(f"beds: give beds or a bed_band of {', '.join(BED_BANDS)}")
    teaching = TEACHING.get(row["teaching"].strip().lower())
    if teaching is None:
        raise ValueError("teaching: expected major, minor, none, yes or no")
    trauma = TRAUMA.get(row["trauma_level"].strip().lower())
    if trauma is None:
        raise ValueError("trauma_level: expected I-V (or 1-5) or none")
    state = row["state"].strip().upper()
    if state not in US_STATES:
        raise ValueError("state: not a US state code")
    zip_code = row["zip"].strip().replace("-", "")
    if not (zip_code.isdigit() and len(zip_code) in (5, 9)):
        raise ValueError("zip: a ZIP code is 5 or 9 digits")
    ccn = (row.get("ccn") or "").strip().upper()
    if ccn and not (len(ccn) == 6 and ccn.isalnum()):
        raise ValueError("ccn: a CMS certification number is 6 characters")
    cbsa = (row.get("cbsa") or "").strip()
    if cbsa and not (cbsa.isdigit() and len(cbsa) == 5):
        raise ValueError("cbsa: a CBSA code is 5 digits")
    return {
        "npi": npi,
        "name": row["name"].strip(),
        "facility_type": facility_type,
        "bed_band": band,
        "teaching": teaching,
        "trauma_level": trauma,
        "state": state,
        "zip": zip_code[:5],
        "ccn": ccn or None,
        "cbsa": cbsa or None,
    }


async def load_facilities(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(  # a manifest may load two registry files in one transaction
        text(
            "CREATE TEMP TABLE IF NOT EXISTS fac_staging (LIKE pricing.facilities INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
    )
    await session.execute(text("TRUNCATE fac_staging"))
    records: list[dict[str, str | None]] = []

    async def flush() -> None:
        if records:
            await session.execute(
                text(
                    "INSERT INTO fac_staging (npi, name, facility_type, "
                    "bed_band, teaching, trauma_level, state, zip, ccn, cbsa) "
                    "VALUES (:npi, :name, :facility_type, :bed_band, :teaching, "
                    ":trauma_level, :state, :zip, :ccn, :cbsa)"
                ),
                records,
            )
            records.clear()

    seen: set[str] = set()
    for number, row in read_table(path, COLUMNS, summary, progress):
        try:
            record = facility_record(row)
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        npi = str(record["npi"])
        if npi in seen:
            summary.reject(number, f"npi: {npi} appears twice in the file")
            continue
        seen.add(npi)
        records.append(record)
        summary.rows_loaded += 1
        if len(records) >= 1000:
            await flush()
    await flush()
    changed = list(
        (
            await session.execute(
                text(
                    "SELECT s.npi FROM fac_staging s LEFT JOIN pricing.facilities f ON f.npi = s.npi "
                    "WHERE f.npi IS NULL OR (f.facility_type, f.bed_band, f.teaching, f.trauma_level) "
                    "IS DISTINCT FROM (s.facility_type, s.bed_band, s.teaching, s.trauma_level)"
                )
            )
        ).scalars()
    )
    await refold_facilities(session, changed, add=False)
    await session.execute(
        text(
            "INSERT INTO pricing.facilities SELECT * FROM fac_staging ON CONFLICT (npi) DO UPDATE SET "
            "name = EXCLUDED.name, facility_type = EXCLUDED.facility_type, bed_band = EXCLUDED.bed_band, "
            "teaching = EXCLUDED.teaching, trauma_level = EXCLUDED.trauma_level, state = EXCLUDED.state, "
            "zip = EXCLUDED.zip, ccn = EXCLUDED.ccn, cbsa = EXCLUDED.cbsa"
        )
    )
    await refold_facilities(session, changed, add=True)
    if changed:
        summary.notes.append(
            f"{len(changed)} facilities new or with changed credentials: peer groups updated"
        )
