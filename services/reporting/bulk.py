"""Many rows in one statement: each column sent as one typed array, ``unnest`` turning them back into rows.

The consumers write a whole batch's facts, findings, approvals and KPI deltas this way, one statement per
batch instead of one (or several) per event: the cost of a statement (building it, the round trip, the
executor's start-up) was most of the service's CPU. They run on the session's asyncpg connection, inside
the session's transaction; asyncpg prepares each distinct text once per connection and sends the arrays
in its binary format.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import FromClause
from sqlalchemy.dialects import postgresql

_DIALECT = postgresql.dialect()


class Params:
    """The positional parameters of a statement being built: ``p(value, "uuid[]")`` adds one and returns
    its placeholder with the cast (``$3::uuid[]``)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


@functools.cache
def sql_type(table: FromClause, column: str) -> str:
    """The column's type as SQL (``NUMERIC(12, 2)``), compiled once."""
    return str(table.c[column].type.compile(dialect=_DIALECT))


def unnest(p: Params, table: FromClause, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``unnest($1::t1[], $2::t2[], …) AS r(c1, c2, …)``: ``rows`` (tuples in ``columns`` order) as a
    relation typed like ``table``'s columns."""
    by_column: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for values, value in zip(by_column, row, strict=True):
            values.append(value)
    arrays = ", ".join(
        p(values, sql_type(table, c) + "[]") for c, values in zip(columns, by_column, strict=True)
    )
    return f"unnest({arrays}) AS r({', '.join(columns)})"
