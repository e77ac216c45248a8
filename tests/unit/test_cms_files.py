"""The CMS readers on the real 2025 files bundled with pricing (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.pricing.config import BUNDLED_CMS_DIR
from services.pricing.importers import LoadSummary, ReferenceFileError, find_cms_files
from services.pricing.importers.medicare import GPCI_COLUMNS, RVU_COLUMNS
from services.pricing.importers.tables import read_table


def _files() -> dict[str, Path]:
    return dict(find_cms_files(BUNDLED_CMS_DIR))


def test_rvu_columns_are_found_by_their_stacked_header_names() -> None:
    summary = LoadSummary("rvu", "PPRRVU")
    rows = {(r["hcpcs"], r["modifier"]): r for _, r in read_table(_files()["rvu"], RVU_COLUMNS, summary)}
    assert (summary.rows_rejected, summary.notes) == (0, [])
    assert len(rows) > 18_000
    visit = rows[("99213", "")]
    assert (
        visit["status_code"],
        visit["work_rvu"],
        visit["pe_nonfacility_rvu"],
        visit["pe_facility_rvu"],
    ) == ("A", "1.30", "1.35", "0.57")
    assert visit["mp_rvu"] == "0.10"
    assert visit["conversion_factor"] == "32.3465"
    assert rows[("71046", "26")]["pe_nonfacility_rvu"] == "0.08"


def test_gpci_rows_skip_the_preamble_and_footnotes() -> None:
    rows = [r for _, r in read_table(_files()["gpci"], GPCI_COLUMNS, LoadSummary("gpci", "GPCI"))]
    assert len(rows) == 109
    florida = [r for r in rows if r["state"] == "FL"]
    assert {r["locality_name"] for r in florida} == {"FORT LAUDERDALE", "MIAMI", "REST OF FLORIDA"}


def test_a_file_without_the_needed_columns_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "PPRRVU2099.csv"
    bad.write_text("HCPCS,MOD,SOMETHING\n99213,,1\n")
    with pytest.raises(ReferenceFileError, match="STATUS CODE"):
        list(read_table(bad, RVU_COLUMNS, LoadSummary("rvu", bad.name)))
    missing = tmp_path / "empty"
    missing.mkdir()
    with pytest.raises(ReferenceFileError, match="PPRRVU"):
        find_cms_files(missing)
