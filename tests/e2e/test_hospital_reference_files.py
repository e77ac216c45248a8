"""The CMS files of hospital, anesthesia, lab and DME pricing load as CMS ships them, through the admin
API (the same loaders as ``parley pricing load``): every layout, the same content twice a no-op, and a
file that cannot be read refused naming the row (or line) and the column (or positions).

Loads here use years no pricing test prices with (2001) or content the test stack already holds, so the
decisions other tests check are untouched; the ZIP9 line is made up in CMS's layout (no ZIP9 file was
handed over) for a +4 range no other test bills.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import asyncpg
import httpx
import pytest

from shared.stack.bootstrap import PROJECT_ROOT
from tests.helpers import bill, line, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e

CMS = PROJECT_ROOT / "tests" / "fixtures" / "pricing" / "cms"


async def _post(
    admin: httpx.AsyncClient, urls: dict[str, str], dataset: str, body: bytes, **params: object
) -> httpx.Response:
    return await admin.post(f"{urls['pricing']}/v1/reference/{dataset}", content=body, params=params)


async def test_table5_in_cms_text_and_anesthesia_files_load_with_their_values(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    admin = staff["admin"]
    body = (CMS / "MS-DRG_FY2026_Table5_CMS_excerpt.txt").read_bytes()
    first = await _post(admin, urls, "drg-weights", body, year=2001, source="Table 5.txt")
    assert first.status_code in (200, 201), first.text
    if first.status_code == 201:
        loaded = first.json()
        assert (loaded["rows_loaded"], loaded["rows_rejected"]) == (6, 0)
        assert "MS-DRGs without a relative weight (kept, never priced): 2" in loaded["notes"]
        assert any("read as Windows-1252" in n for n in loaded["notes"])
    again = await _post(admin, urls, "drg-weights", body, year=2001, source="Table 5.txt")
    assert (again.status_code, again.json()["skipped"]) == (200, True)
    rows = await db.fetch(
        "SELECT drg, weight, post_acute, arithmetic_los FROM pricing.drg_weights "
        "WHERE fiscal_year = 2001 ORDER BY drg"
    )
    assert [tuple(r) for r in rows] == [
        ("001", Decimal("28.0239"), False, Decimal("36.2")),
        ("291", Decimal("1.2838"), True, Decimal("5.0")),
        ("470", Decimal("1.9289"), True, Decimal("2.2")),
        ("871", Decimal("1.9425"), True, Decimal("6.4")),
        ("998", None, False, None),
        ("999", None, False, None),
    ]
    # Base units from CMS's Excel (the same values the stack loaded from its text file).
    excel = await _post(
        admin, urls, "anesthesia-base-units", (CMS / "CY_2022_Anesthesia_Base_Units_110921.xlsx").read_bytes()
    )
    assert excel.status_code in (200, 201), excel.text
    assert excel.json()["skipped"] or excel.json()["rows_loaded"] == 276
    assert await db.fetchval("SELECT base_units FROM pricing.anesthesia_base_units WHERE code = '00142'") == 4
    # The ANES file's CSV (trailing spaces, leading zeros) for another year.
    anes = await _post(admin, urls, "anesthesia-cf", (CMS / "ANES2025.csv").read_bytes(), year=2001)
    assert anes.status_code in (200, 201), anes.text
    assert anes.json()["skipped"] or anes.json()["rows_loaded"] == 109
    miami = await db.fetchrow(
        "SELECT locality_name, conversion_factor FROM pricing.anesthesia_cfs "
        "WHERE year = 2001 AND mac = '09102' AND locality = '04'"
    )
    assert (miami["locality_name"], miami["conversion_factor"]) == ("MIAMI", Decimal("22.39"))


async def test_zip_files_by_position_and_a_zip_plus_4_range_prices_in_its_own_locality(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    admin = staff["admin"]
    # The ZIP5 excerpt the stack loaded at start-up: the same content again changes nothing.
    same = await _post(admin, urls, "zip5", (CMS / "ZIP5_OCT2025_FL_excerpt.txt").read_bytes())
    assert (same.status_code, same.json()["skipped"]) == (200, True)
    # A file none of whose lines is in the layout is refused, naming each line and field; nothing changes.
    before = await db.fetchval("SELECT count(*) FROM pricing.zip_localities")
    bad = (
        b"FL3312x0910204 Z9   0 A"
        + b" " * 52
        + b"20254\r\nFL331250910x04 Z9   0 A"
        + b" " * 52
        + b"20254\r\n"
    )
    refused = await _post(admin, urls, "zip5", bad, source="ZIP5_bad.txt")
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert errors[0] == {
        "field": "body:row 1",
        "message": "zip (positions 3-7): '3312x' is not 5 digits",
        "type": "rejected",
    }
    assert errors[1]["message"] == "carrier (positions 8-12): '0910x' is not 5 digits"
    assert await db.fetchval("SELECT count(*) FROM pricing.zip_localities") == before
    # ZIP9: ZIP+4 33125-9990…9999 in Fort Lauderdale's locality (03) instead of the ZIP's Miami (04).
    zip9 = b"FL331250910203 Z9   199909999" + b" " * 46 + b"20254\r\n"
    loaded = await _post(admin, urls, "zip9", zip9, source="ZIP9_test.txt")
    assert loaded.status_code in (200, 201), loaded.text
    body = bill(client_id=unique("zip9"), zip_code="33125-9995", lines=[line("99213", "200.00")])
    created = await submit_bill(http, urls, body)
    assert created.status_code == 201, created.text

    async def priced() -> dict | None:
        response = await staff["negotiator"].get(f"{urls['pricing']}/v1/pricings/{created.json()['id']}")
        return response.json()["latest"] if response.status_code == 200 else None

    (only,) = (await wait_until(priced, what="pricing"))["lines"]
    assert "locality FORT LAUDERDALE (ZIP+4 33125-9995 is in CMS ZIP9 range 9990-9999" in only["basis"]


async def test_clfs_with_its_preamble_rejects_a_bad_rate_by_row_and_column(
    staff: dict[str, httpx.AsyncClient], urls: dict[str, str], db: asyncpg.Connection
) -> None:
    admin = staff["admin"]
    real = (CMS / "CLFS_2025_Q4V1.csv").read_bytes()
    head = real[: real.index(b"YEAR,HCPCS")]  # the title, copyright and notice rows as CMS ships them
    body = head + b"YEAR,HCPCS,MOD,EFF_DATE,INDICATOR,RATE,SHORTDESC,LONGDESC,EXTENDED LONGDESC\r\n"
    body += b"2001,80053,,20010101,N,00010.56,,,\r\n2001,80054,,20010101,N,0001O.00,,,\r\n"
    bad_row = len(list(csv.reader(io.StringIO(body.decode("cp1252")))))
    response = await _post(admin, urls, "clfs", body, year=2001, source="CLFS_2001.csv")
    assert response.status_code in (200, 201), response.text
    loaded = response.json()
    if not loaded["skipped"]:
        assert (loaded["rows_loaded"], loaded["rows_rejected"]) == (1, 1)
        assert loaded["rejections"] == [{"row": str(bad_row), "reason": "RATE is not a number"}]
    assert await db.fetchval(
        "SELECT rate FROM pricing.clfs_rates WHERE year = 2001 AND hcpcs = '80053' AND modifier = ''"
    ) == Decimal("10.56")
    no_rate = await _post(admin, urls, "clfs", head + b"YEAR,HCPCS,MOD,PRICE\r\n2001,80053,,1\r\n", year=2001)
    assert no_rate.status_code == 422
    assert "no column 'RATE'" in no_rate.json()["detail"]
