"""The table-reading layer on the files CMS ships and on files built to break it (no database needed).

Every value asserted here was read off the files by hand.
"""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import ijson
import openpyxl
import pytest

from services.pricing.config import BUNDLED_CMS_DIR
from services.pricing.importers import LoadSummary, ReferenceFileError
from services.pricing.importers.base import parse_date
from services.pricing.importers.edits import MUE_COLUMNS, PTP_COLUMNS
from services.pricing.importers.medicare import GPCI_COLUMNS
from services.pricing.importers.tables import (
    Columns,
    UndecodableFile,
    detect_encoding,
    open_json,
    read_fixed_width,
    read_table,
)
from services.pricing.importers.tables.encoding import CHUNK
from shared.stack.bootstrap import PROJECT_ROOT

CMS = PROJECT_ROOT / "tests" / "fixtures" / "pricing" / "cms"
FEES = Columns(required={"code": ("code",), "amount": ("amount",), "note": ("note",)})
TEXT = "code,amount,note\n99213,110.50,Office visit — established\nA4216,0.63,Sterile water/saline\n"
ROWS = [
    (2, {"code": "99213", "amount": "110.50", "note": "Office visit — established"}),
    (3, {"code": "A4216", "amount": "0.63", "note": "Sterile water/saline"}),
]


def _read(path: Path, columns: Columns = FEES) -> tuple[list[tuple[int, dict[str, str]]], LoadSummary]:
    summary = LoadSummary("test", path.name)
    return list(read_table(path, columns, summary)), summary


@pytest.mark.parametrize(
    ("encoded", "note"),
    [
        (TEXT.encode("utf-8"), None),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), None),
        (
            codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
            "read as UTF-16 (little-endian, from its byte-order mark)",
        ),
        (
            codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
            "read as UTF-16 (big-endian, from its byte-order mark)",
        ),
        # "code,amount,note\n" is 17 bytes, "99213,110.50,Office visit " 26 more: the em dash is byte 43.
        (TEXT.encode("cp1252"), "byte 43 (line 2) is 0x97, not UTF-8: read as Windows-1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "windows-1252"],
)
def test_every_encoding_shipped_reads_the_same_values(
    tmp_path: Path, encoded: bytes, note: str | None
) -> None:
    path = tmp_path / "fees.csv"
    path.write_bytes(encoded)
    rows, summary = _read(path)
    assert rows == ROWS
    assert summary.notes == ([f"fees.csv: {note}"] if note else [])


def test_a_windows_1252_byte_far_into_the_file_is_found_not_guessed_from_a_sample(tmp_path: Path) -> None:
    filler = "".join(f"{10000 + i},1.00,plain\n" for i in range(60_000))  # 960,000 bytes of ASCII
    path = tmp_path / "long.csv"
    path.write_bytes(("code,amount,note\n" + filler).encode() + b"99213,2.00,em\x97dash\n")
    rows, summary = _read(path)
    assert rows[-1] == (60_002, {"code": "99213", "amount": "2.00", "note": "em—dash"})
    assert summary.notes == [
        f"long.csv: byte {17 + len(filler) + 13} (line 60002) is 0x97, not UTF-8: read as Windows-1252"
    ]


def test_a_utf8_character_cut_by_the_read_chunk_is_still_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    head = b"code,amount,note\n"
    path.write_bytes(
        head + b"x" * (CHUNK - len(head) - 1) + "é\n".encode()
    )  # é's two bytes span the chunk end
    assert (detect_encoding(path).codec, detect_encoding(path).note) == ("utf-8", None)


def test_a_file_that_is_not_text_is_refused_naming_byte_and_line(tmp_path: Path) -> None:
    undefined = tmp_path / "undefined.csv"
    undefined.write_bytes(b"code,amount,note\n99213,1.00,caf\xe9\n99214,2.00,\x81\n")
    with pytest.raises(UndecodableFile) as refused:
        detect_encoding(undefined)
    assert str(refused.value) == (
        "undefined.csv: cannot be read as text: byte 31 (line 2) is 0xE9, not UTF-8; "
        "as Windows-1252, byte 44 (line 3) is 0x81, undefined in Windows-1252"
    )
    no_mark = tmp_path / "utf16.csv"
    no_mark.write_bytes("code,amount\n".encode("utf-16-le"))
    with pytest.raises(UndecodableFile, match=r"byte 1 \(line 1\) is 0x00, a NUL byte"):
        detect_encoding(no_mark)
    bad_mark = tmp_path / "bad_mark.csv"
    bad_mark.write_bytes(codecs.BOM_UTF8 + b"code\n\xff\n")
    with pytest.raises(
        UndecodableFile, match=r"UTF-8 \(with a byte-order mark\), but byte 8 \(line 2\) is 0xFF"
    ):
        detect_encoding(bad_mark)
    summary = LoadSummary("test", "undefined.csv")
    with pytest.raises(ReferenceFileError):  # the same refusal through the reader, before any row
        list(read_table(undefined, FEES, summary))


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + '{"rates": [150.00, "café"]}'.encode(),
        codecs.BOM_UTF16_LE + '{"rates": [150.00, "café"]}'.encode("utf-16-le"),
        '{"rates": [150.00, "café"]}'.encode("cp1252"),
    ],
    ids=["utf-8-bom", "utf-16-bom", "windows-1252"],
)
def test_json_with_a_byte_order_mark_or_another_encoding_reaches_ijson_as_utf8(
    tmp_path: Path, encoded: bytes
) -> None:
    path = tmp_path / "rates.json"
    path.write_bytes(encoded)
    with open_json(path, LoadSummary("test", path.name)) as fh:
        assert list(ijson.items(fh, "rates.item")) == [150, "café"]


def test_mue_csv_with_quoted_preamble_and_a_line_break_in_the_header_cell() -> None:
    rows, summary = _read(CMS / "MUE_Practitioner_Eff_10-01-2026_excerpt.csv", MUE_COLUMNS)
    assert [(n, r["code"], r["value"], r["indicator"], r["rationale"]) for n, r in rows] == [
        (3, "0001U", "1", "2 Date of Service Edit: Policy", "Code Descriptor / CPT Instruction"),
        (4, "71046", "2", "3 Date of Service Edit: Clinical", "Clinical: Data"),
        (5, "99213", "2", "3 Date of Service Edit: Clinical", "Clinical: Data"),
        (6, "E0114", "0", "3 Date of Service Edit: Clinical", "CMS Policy"),
        (7, "J1885", "8", "3 Date of Service Edit: Clinical", "Prescribing Information"),
        (8, "K0001", "0", "3 Date of Service Edit: Clinical", "CMS Policy"),
    ]
    assert (summary.rows_rejected, summary.notes) == (0, [])


def test_ncci_ptp_txt_layout_with_a_header_over_four_lines() -> None:
    rows, summary = _read(CMS / "NCCI_PTP_practitioner_layout_sample.txt", PTP_COLUMNS)
    read = [
        (
            n,
            r["column1"],
            r["column2"],
            parse_date(r["effective"], "e"),
            parse_date(r["deletion"], "d"),
            r["modifier"],
        )
        for n, r in rows
    ]
    assert read == [
        (7, "93000", "93005", date(2000, 1, 1), None, "0"),  # deletion "*"
        (8, "99214", "99213", date(1996, 1, 1), None, "0"),
        (9, "20610", "76942", date(2015, 1, 1), None, "1"),
        (10, "97110", "97750", date(2015, 1, 1), date(2024, 1, 1), "1"),
        (11, "36415", "36410", date(2020, 1, 1), date(2020, 1, 1), "9"),
        (12, "71046", "71045", date(2015, 1, 1), None, "0"),  # deletion blank
    ]
    assert summary.rows_rejected == 0


def test_gpci_excel_reads_exactly_like_the_csv() -> None:
    from_excel, excel_summary = _read(CMS / "GPCI2025.xlsx", GPCI_COLUMNS)
    from_csv, _ = _read(BUNDLED_CMS_DIR / "GPCI2025.csv", GPCI_COLUMNS)
    assert [r for _, r in from_excel] == [r for _, r in from_csv]
    assert len(from_excel) == 109
    assert from_excel[1] == (
        5,
        {
            "mac": "02102",
            "state": "AK",
            "locality": "01",
            "locality_name": "ALASKA*",
            "work": "1.5",
            "pe": "1.081",
            "mp": "0.592",
        },
    )
    assert excel_summary.notes == []  # one sheet: nothing to say


def test_ipps_table5_in_windows_1252_with_a_two_line_title_cell() -> None:
    columns = Columns(
        required={"drg": ("MS-DRG",), "title": ("MS-DRG Title",), "weight": ("Weights - 10% Cap Applied",)},
        optional={"alos": ("Arithmetic mean LOS",)},
    )
    rows, summary = _read(CMS / "MS-DRG_FY2026_Table5_CMS_excerpt.txt", columns)
    assert [(n, r["drg"], r["weight"], r["alos"]) for n, r in rows] == [
        (3, "001", "28.0239", "36.2"),
        (4, "291", "1.2838", "5.0"),
        (5, "470", "1.9289", "2.2"),
        (6, "871", "1.9425", "6.4"),
        (7, "998", ".", ""),
        (8, "999", ".", ""),
    ]
    assert (
        rows[2][1]["title"]
        == "MAJOR HIP AND KNEE JOINT REPLACEMENT OR REATTACHMENT OF LOWER EXTREMITY WITHOUT MCC"
    )
    assert summary.notes == [
        "MS-DRG_FY2026_Table5_CMS_excerpt.txt: byte 9 (line 1) is 0x97, not UTF-8: read as Windows-1252"
    ]


def test_anesthesia_base_units_text_and_excel_with_a_header_over_three_lines() -> None:
    columns = Columns(required={"code": ("CODE",), "base_units": ("*BASE UNIT",)}, keys=("code",))
    text, _ = _read(CMS / "CY_2022_Anesthesia_Base_Units_110921.txt", columns)
    excel, _ = _read(CMS / "CY_2022_Anesthesia_Base_Units_110921.xlsx", columns)
    assert text == excel
    assert len(text) == 276
    assert text[:3] == [
        (4, {"code": "00100", "base_units": "5"}),
        (5, {"code": "00102", "base_units": "6"}),
        (6, {"code": "00103", "base_units": "5"}),
    ]


def test_zip5_fixed_width_by_the_layout_positions() -> None:
    layout = {"state": (1, 2), "zip": (3, 7), "carrier": (8, 12), "locality": (13, 14), "rural": (15, 15)}
    summary = LoadSummary("test", "zip5")
    rows = list(read_fixed_width(CMS / "ZIP5_OCT2025_excerpt.txt", {**layout, "quarter": (76, 80)}, summary))
    assert len(rows) == 40
    assert rows[0] == (
        1,
        {
            "state": "AK",
            "zip": "99501",
            "carrier": "02102",
            "locality": "01",
            "rural": "",
            "quarter": "20254",
        },
    )
    assert rows[37][1]["rural"] == "B"  # line 38: AK 99555, super rural
    with pytest.raises(ValueError, match="1-based"):
        list(read_fixed_width(CMS / "ZIP5_OCT2025_excerpt.txt", {"state": (0, 2)}, summary))


def test_excel_finds_the_sheet_holding_the_table_and_reads_numbers_and_dates_as_text(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Read me"
    cover.append(["DMEPOS fee schedule, January 2026"])
    fees = book.create_sheet("Fees")
    fees.append(["Fee schedule, not a header"])
    fees.append([])
    fees.append(["HCPCS", "Mod", "Rate", "Effective"])
    fees.append(["A4216", None, 0.63, date(2026, 1, 1)])
    fees.append(["E0114", "NU", 100.0, date(2026, 1, 1)])
    fees.append([None, None, None, None])
    fees.append(["Footnote: rates in dollars", None, None, None])
    path = tmp_path / "upload"  # no extension, as the admin API stores a body
    book.save(path)
    columns = Columns(
        required={"code": ("HCPCS",), "rate": ("Rate",)},
        optional={"modifier": ("Mod",), "effective": ("Effective*",)},
        keys=("rate",),
    )
    rows, summary = _read(path, columns)
    assert rows == [
        (4, {"code": "A4216", "rate": "0.63", "modifier": "", "effective": "2026-01-01"}),
        (5, {"code": "E0114", "rate": "100", "modifier": "NU", "effective": "2026-01-01"}),
    ]
    assert summary.notes == ["upload: read sheet 'Fees', the first whose header names the columns"]


def test_pipe_separated_text_with_a_header_over_two_lines_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "fees.txt"
    path.write_text(
        "Rates for 2026\nHCPCS|Non-Facility|Facility\nCode|Rate|Rate\n99213|110.50|80.25\n99214\n\n"
    )
    columns = Columns(
        required={"code": ("HCPCS Code",), "office": ("Non-Facility Rate",), "facility": ("Facility Rate",)}
    )
    rows, summary = _read(path, columns)
    assert rows == [(4, {"code": "99213", "office": "110.50", "facility": "80.25"})]
    assert summary.rejections == [{"row": "5", "reason": "row has 1 columns, fewer than the header"}]


def test_a_file_without_the_header_names_what_the_closest_row_lacks(tmp_path: Path) -> None:
    path = tmp_path / "mue.csv"
    path.write_text('"copyright"\nHCPCS/CPT Code,MUE Values\n99213,1\n')
    with pytest.raises(ReferenceFileError) as refused:
        _read(path, MUE_COLUMNS)
    assert str(refused.value) == (
        "mue.csv: no column 'MUE Adjudication Indicator*' in the header (the closest was row 2; wanted "
        "'HCPCS/CPT Code', '*MUE Values', 'MUE Adjudication Indicator*')"
    )
    nothing = tmp_path / "nothing.csv"
    nothing.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(ReferenceFileError, match="no header row naming 'HCPCS/CPT Code'"):
        _read(nothing, MUE_COLUMNS)
