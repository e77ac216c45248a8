"""Finding a table's header by what it says, wherever it sits and however many lines it spans.

CMS puts copyright notices and titles above its tables, splits long column names over several lines
(``Effective`` above ``Date``; PPRRVU stacks ``WORK`` above ``RVU``), writes line breaks inside a header
cell (``"HCPCS/⏎CPT Code"``), adds legends (``Modifier 0=not allowed 1=allowed 9=not applicable``) and
trailing spaces, and moves columns between releases. So a header is found, never assumed:

- Names are compared *squashed*: upper case, every character that is not a letter or digit removed, so
  ``"HCPCS/⏎CPT Code"``, ``HCPCS/CPT CODE`` and ``hcpcs cpt code`` are one name. A name we accept may
  hold ``*`` for any text: ``Modifier*`` (a legend follows), ``*PW GPCI*`` (``2025 PW GPCI (with 1.0
  Floor)``).
- The header is the first block of up to ``max_rows`` consecutive rows whose cells, stacked column by
  column, name every required column. Below it, rows that leave every key column empty while the names
  still match are more of the header (the NCCI legend lines); above it, rows that only add text to the
  names are dropped when that finds more optional columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Cells = Sequence[str]


@dataclass(frozen=True)
class Columns:
    """What a loader reads from a table: each of our column names with the header names it accepts.

    ``required`` columns must all be in the header; ``optional`` ones are read when present (as "" when
    not). A row that leaves every ``keys`` column empty is not a record (a spacer, a footnote, a legend
    line) and is skipped without a rejection; with no keys only blank rows are skipped.
    """

    required: Mapping[str, tuple[str, ...]]
    optional: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    def describe(self) -> str:
        return ", ".join(repr(names[0]) for names in self.required.values())


@dataclass(frozen=True)
class Header:
    first: int  # index of the header's first row among the rows searched
    last: int  # index of its last row: data starts after it
    names: list[str]  # each column's name as stacked (for messages)
    index: dict[str, int]  # our column → position, required and optional found


def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.upper())


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(squash(part)) for part in name.split("*")))


@dataclass(frozen=True)
class _Compiled:
    required: dict[str, list[re.Pattern[str]]]
    optional: dict[str, list[re.Pattern[str]]]


def _compile(columns: Columns) -> _Compiled:
    return _Compiled(
        {k: [_pattern(n) for n in names] for k, names in columns.required.items()},
        {k: [_pattern(n) for n in names] for k, names in columns.optional.items()},
    )


def _find(names: list[str], patterns: list[re.Pattern[str]]) -> int | None:
    for position, name in enumerate(names):
        if any(p.fullmatch(name) for p in patterns):
            return position
    return None


def _stack(rows: Sequence[Cells]) -> list[str]:
    width = max((len(r) for r in rows), default=0)
    return [" ".join(r[i].strip() for r in rows if i < len(r) and r[i].strip()) for i in range(width)]


def _match(rows: Sequence[Cells], spec: _Compiled) -> tuple[dict[str, int], int, list[str]]:
    """Our columns found in the stacked rows, how many required ones were found, and the stacked names."""
    names = _stack(rows)
    squashed = [squash(n) for n in names]
    index: dict[str, int] = {}
    for ours, patterns in spec.required.items():
        found = _find(squashed, patterns)
        if found is not None:
            index[ours] = found
    required = len(index)
    for ours, patterns in spec.optional.items():
        found = _find(squashed, patterns)
        if found is not None:
            index[ours] = found
    return index, required, names


def _blank(row: Cells) -> bool:
    return not any(cell.strip() for cell in row)


def _keys_empty(row: Cells, index: dict[str, int], keys: Sequence[str]) -> bool:
    return all(index[k] >= len(row) or not row[index[k]].strip() for k in keys)


@dataclass
class HeaderSearch:
    """The header of a table among its first rows, or the closest miss (for the error message)."""

    columns: Columns
    max_rows: int = 6
    best_found: int = 0  # required columns the closest row named, over every search of this file
    best_missing: list[str] = field(default_factory=list)
    best_row: int | None = None

    def find(self, rows: Sequence[Cells]) -> Header | None:
        spec = _compile(self.columns)
        wanted = len(spec.required)
        for first in range(len(rows)):
            if _blank(rows[first]):
                continue
            for span in range(1, self.max_rows + 1):
                last = first + span - 1
                if last >= len(rows):
                    break
                index, found, _ = _match(rows[first : last + 1], spec)
                if found == wanted:
                    return self._settle(rows, first, last, spec)
                if found > self.best_found:
                    self.best_found, self.best_row = found, first
                    self.best_missing = [
                        names[0] for k, names in self.columns.required.items() if k not in index
                    ]
        return None

    def _settle(self, rows: Sequence[Cells], first: int, last: int, spec: _Compiled) -> Header:
        wanted = len(spec.required)
        index, _, names = _match(rows[first : last + 1], spec)
        # Rows above that only add text: drop them when that finds more optional columns.
        for start in range(first + 1, last + 1):
            trimmed, found, trimmed_names = _match(rows[start : last + 1], spec)
            if found == wanted and len(trimmed) > len(index):
                first, index, names = start, trimmed, trimmed_names
        # Rows below that leave the key columns empty (legend lines): more of the header.
        keys = self.columns.keys or (next(iter(self.columns.required)),)
        while last + 1 < len(rows) and last + 1 - first < self.max_rows + 2:
            below = rows[last + 1]
            if _blank(below) or not _keys_empty(below, index, keys):
                break
            extended, found, extended_names = _match(rows[first : last + 2], spec)
            if found < wanted or any(extended.get(k) != at for k, at in index.items()):
                break
            last, index, names = last + 1, extended, extended_names
        return Header(first, last, names, index)
