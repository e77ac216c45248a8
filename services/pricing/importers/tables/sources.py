"""Where a table's rows come from: delimited text (comma, tab or pipe) or an Excel workbook.

Each source turns a file into ``(row number, cells)`` with cells as text, finds the header with
:class:`~services.pricing.importers.tables.header.HeaderSearch`, and hands back the header and the rows
after it. Row numbers are what a person sees: the record's position in a delimited file (a quoted cell
holding line breaks is one row), the sheet's row number in a workbook.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from python_calamine import CalamineError, CalamineWorkbook

from services.pricing.importers.base import LoadSummary, ReferenceFileError
from services.pricing.importers.tables.header import Cells, Header, HeaderSearch

DELIMITERS = (",", "\t", "|")
HEAD_LINES = 400  # physical lines read to find the header: preambles run to a few dozen
HEAD_CHARS = 1 << 20
# Excel (xlsx, xlsm, ods: a zip container; xls: an OLE2 compound file).
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

Numbered = Iterator[tuple[int, Cells]]


def is_workbook(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(8)
    return head.startswith(WORKBOOK_MAGIC)


def _records(lines: Iterable[str], delimiter: str, name: str) -> Iterator[list[str]]:
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise ReferenceFileError(
            f"{name}: line {reader.line_num}: not readable as delimited text ({exc})"
        ) from exc


def _head(fh: IO[str]) -> list[str]:
    lines: list[str] = []
    size = 0
    while len(lines) < HEAD_LINES and size < HEAD_CHARS:
        line = fh.readline()
        if not line:
            break
        lines.append(line)
        size += len(line)
    return lines


def text_table(
    fh: IO[str], search: HeaderSearch, name: str, *, delimiter: str | None, search_rows: int
) -> tuple[Header | None, Numbered]:
    """The header of delimited text and its rows after it; the delimiter is the one that finds the header.

    Each of comma, tab and pipe (or only ``delimiter``) splits the first lines; the one whose rows hold
    the header earliest wins. Only those first lines are held in memory; the rest streams.
    """
    head = _head(fh)
    found: tuple[str, Header] | None = None
    for sep in (delimiter,) if delimiter else DELIMITERS:
        header = search.find(list(islice(_records(head, sep, name), search_rows)))
        if header is not None and (found is None or header.first < found[1].first):
            found = (sep, header)
    if found is None:
        return None, iter(())
    sep, header = found
    numbered = enumerate(_records(chain(head, fh), sep, name), start=1)
    return header, ((n, cells) for n, cells in numbered if n > header.last + 1)


def _cell(value: Any) -> str:
    """An Excel cell as the text a CSV export would hold (1.0 → "1", 0.869 → "0.869", dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def workbook_table(
    path: Path, search: HeaderSearch, summary: LoadSummary, *, sheet: str | None, search_rows: int
) -> tuple[Header | None, Numbered]:
    """The first sheet (or the one named) whose header names the columns, and its rows after it.

    python-calamine reads xlsx, xlsm, xls and ods; a sheet is held in memory in its compact form while
    its rows are read (CMS workbooks are a few megabytes).
    """
    try:
        with path.open("rb") as fh:
            book = CalamineWorkbook.from_filelike(fh)
            names = [sheet] if sheet else list(book.sheet_names)
            for name in names:
                if name not in book.sheet_names:
                    raise ReferenceFileError(f"{path.name}: no sheet {name!r} (sheets: {book.sheet_names})")
                data = book.get_sheet_by_name(name)
                first_row = data.start[0] if data.start else 0
                cells = ([_cell(v) for v in row] for row in data.iter_rows())
                numbered = enumerate(cells, start=first_row + 1)
                head = list(islice(numbered, search_rows))
                header = search.find([c for _, c in head])
                if header is None:
                    continue
                if len(book.sheet_names) > 1:
                    summary.note(
                        f"{path.name}: read sheet {name!r}, the first whose header names the columns"
                    )
                return header, chain(head[header.last + 1 :], numbered)
    except CalamineError as exc:
        raise ReferenceFileError(f"{path.name}: not a readable Excel workbook ({exc})") from exc
    return None, iter(())
