"""Reading reference tables as CMS, hospitals and payers ship them: bytes → text → rows → named columns.

Every loader of a tabular reference file goes through here, so that encodings, preambles, headers split
over lines and Excel are handled once. The API:

``read_table(path, columns, summary, progress=None, *, delimiter=None, sheet=None)``
    Yields ``(row number, {our column: text})`` for each record of a delimited text file (comma, tab or
    pipe: the one whose rows hold the header) or of an Excel workbook (xlsx, xlsm, xls, ods: the first
    sheet whose header names the columns). ``columns`` is a :class:`Columns`::

        PTP = Columns(
            required={"column1": ("Column 1",), "effective": ("Effective Date*",), ...},
            optional={"rationale": ("PTP Edit Rationale",)},
            keys=("column1", "column2"),
        )
        for number, row in read_table(path, PTP, summary, progress):
            ...  # row["column1"], row["effective"]: stripped text, "" when empty

    Header names are compared ignoring case, spaces, punctuation and line breaks; ``*`` in a name we
    accept stands for any text (see :mod:`.header` for how the header is found). Values are text exactly
    as written (stripped); Excel numbers come as their shortest decimal text (``1.0`` → ``"1"``) and
    dates as ISO dates, so one loader reads the CSV and the Excel release alike. Excel drops leading
    zeros of codes stored as numbers: pad codes whose width you know (``zfill``).

    What it handles itself, with ``summary`` (the load's :class:`LoadSummary`): the encoding (notes a
    fallback; refuses an undecodable file naming byte and line, see :mod:`.encoding`); blank rows and
    rows leaving every key column empty (skipped); rows too short for the required columns (rejected
    with their row number). A file without the header raises :class:`ReferenceFileError` naming the
    columns the closest row lacked. The loader validates values and calls ``summary.reject(number,
    "column: why")`` for rows it cannot use.

``read_fixed_width(path, fields, summary, progress=None, *, keys=())``
    Yields ``(line number, {our field: text})`` for fixed-width text without a header (CMS ZIP5):
    ``fields`` maps our names to the 1-based, inclusive ``(start, end)`` positions of the CMS layout
    document. Short lines read as blanks past their end.

``open_text(path, summary, progress)`` / ``open_json(path, summary, progress)`` / ``peek_text(path)``
    The decoded text stream (for layouts this module does not parse, like the hospital price
    transparency CSV's fixed three-row head) and the UTF-8 byte stream ijson needs (a byte-order mark
    skipped, another encoding re-encoded; JSON nested deeper than ``MAX_JSON_DEPTH`` levels refused with
    :class:`JsonTooDeep`, naming the byte offset, before the parser reads it: see :mod:`.json_depth`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from services.pricing.importers.base import LoadSummary, Progress, ReferenceFileError
from services.pricing.importers.tables.encoding import (
    TextEncoding,
    UndecodableFile,
    detect_encoding,
    open_json,
    open_text,
    peek_text,
)
from services.pricing.importers.tables.header import Columns, Header, HeaderSearch
from services.pricing.importers.tables.json_depth import MAX_JSON_DEPTH, JsonTooDeep
from services.pricing.importers.tables.sources import Numbered, is_workbook, text_table, workbook_table

Row = dict[str, str]

__all__ = [
    "MAX_JSON_DEPTH",
    "Columns",
    "JsonTooDeep",
    "Row",
    "TextEncoding",
    "UndecodableFile",
    "detect_encoding",
    "open_json",
    "open_text",
    "peek_text",
    "read_fixed_width",
    "read_table",
]

SEARCH_ROWS = 200  # rows searched for the header
MAX_HEADER_ROWS = 6  # lines one header may span (PPRRVU: five, NCCI: four)


def _refused(name: str, columns: Columns, search: HeaderSearch) -> ReferenceFileError:
    if search.best_row is not None and search.best_missing:
        missing = ", ".join(repr(m) for m in search.best_missing)
        return ReferenceFileError(
            f"{name}: no column {missing} in the header (the closest was row {search.best_row + 1}; "
            f"wanted {columns.describe()})"
        )
    return ReferenceFileError(
        f"{name}: no header row naming {columns.describe()} in its first {SEARCH_ROWS} rows"
    )


def _named(
    rows: Numbered, header: Header, columns: Columns, summary: LoadSummary
) -> Iterator[tuple[int, Row]]:
    required = [(ours, header.index[ours]) for ours in columns.required]
    optional = [(ours, header.index.get(ours)) for ours in columns.optional]
    widest = max(at for _, at in required)
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if columns.keys and all(
            header.index[k] >= len(cells) or not cells[header.index[k]].strip() for k in columns.keys
        ):
            continue
        if len(cells) <= widest:
            summary.reject(number, f"row has {len(cells)} columns, fewer than the header")
            continue
        row = {ours: cells[at].strip() for ours, at in required}
        for ours, found in optional:
            row[ours] = cells[found].strip() if found is not None and found < len(cells) else ""
        yield number, row


def read_table(
    path: Path,
    columns: Columns,
    summary: LoadSummary,
    progress: Progress | None = None,
    *,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> Iterator[tuple[int, Row]]:
    """Each record of a delimited text file or Excel workbook by our column names; see the module doc."""
    search = HeaderSearch(columns, MAX_HEADER_ROWS)
    if is_workbook(path):
        header, rows = workbook_table(path, search, summary, sheet=sheet, search_rows=SEARCH_ROWS)
        if header is None:
            raise _refused(path.name, columns, search)
        yield from _named(rows, header, columns, summary)
        if progress is not None:
            progress(path.stat().st_size)
        return
    with open_text(path, summary, progress) as fh:
        header, rows = text_table(fh, search, path.name, delimiter=delimiter, search_rows=SEARCH_ROWS)
        if header is None:
            raise _refused(path.name, columns, search)
        yield from _named(rows, header, columns, summary)


def read_fixed_width(
    path: Path,
    fields: Mapping[str, tuple[int, int]],
    summary: LoadSummary,
    progress: Progress | None = None,
    *,
    keys: tuple[str, ...] = (),
) -> Iterator[tuple[int, Row]]:
    """Each line of a fixed-width file by our field names (1-based inclusive positions, as CMS writes)."""
    for name, (start, end) in fields.items():
        if start < 1 or end < start:
            raise ValueError(f"field {name}: positions are 1-based and end ≥ start, got ({start}, {end})")
    with open_text(path, summary, progress) as fh:
        for number, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            row = {name: text[start - 1 : end].strip() for name, (start, end) in fields.items()}
            if keys and not any(row[k] for k in keys):
                continue
            yield number, row
