"""Keeping the KPI tables current: the consumers queue differences, one loop folds them in.

An event handler changes a bill's facts and, in the same transaction, inserts the change in the bill's
contribution (:mod:`services.reporting.contributions`) into the ``*_deltas`` queues: plain inserts, so
consumers working on different partitions never wait on each other's KPI rows. :func:`fold_pending`
moves queued deltas into every KPI table in one statement per queue (``DELETE … RETURNING`` feeding one
``INSERT … ON CONFLICT DO UPDATE`` per table), inside one transaction holding an advisory lock, so a delta
is folded exactly once even with several instances running. Reads see an event's effect once the fold
has run (``PARLEY_REPORTING_FOLD_SECONDS``, half a second by default).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.bulk import Params, unnest
from services.reporting.contributions import HIST, KPI, PATTERN, PIPELINE, Ledger
from services.reporting.measures import (
    COUNTS,
    GRAINS,
    LEVELS,
    MEASURES,
    PATTERN_COUNTS,
    PATTERN_DIMS,
    PATTERN_LEVELS,
    PATTERN_MONEY,
    PIPELINE_DIMS,
)
from services.reporting.models import (
    CUBES,
    HISTS,
    PATTERNS,
    hist_deltas,
    kpi_deltas,
    pattern_deltas,
    pipeline_deltas,
    pipeline_open,
)
from shared.db import raw_connection

SCHEMA = "reporting"
FOLD_LOCK = zlib.crc32(b"reporting.kpi_fold") - 2**31
FULL_DIMS = LEVELS[-1].dims
PATTERN_MEASURES = PATTERN_COUNTS + PATTERN_MONEY


def _number(name: str, value: Decimal) -> int | Decimal:
    return int(value) if name in COUNTS or name in PATTERN_COUNTS or name in ("bills", "n") else value


def delta_rows(ledger: Ledger) -> dict[Table, list[dict[str, Any]]]:
    """The queue rows for a ledger of differences (see :meth:`Ledger.minus`)."""
    rows: dict[Table, list[dict[str, Any]]] = {}
    for key, vector in ledger.of(KPI):
        row: dict[str, Any] = {"day": key[0], **dict(zip(FULL_DIMS, key[1:], strict=True))}
        row.update({name: _number(name, vector[i]) for i, name in enumerate(MEASURES)})
        rows.setdefault(kpi_deltas, []).append(row)
    for key, vector in ledger.of(HIST):
        dims = dict(zip(FULL_DIMS, key[1:6], strict=True))
        row = {"day": key[0], **dims, "metric": key[6], "bucket": key[7], "n": int(vector[0])}
        rows.setdefault(hist_deltas, []).append(row)
    for key, vector in ledger.of(PIPELINE):
        row = {"received_day": key[0], **dict(zip(PIPELINE_DIMS, key[1:], strict=True))}
        row.update(bills=int(vector[0]), billed=vector[1])
        rows.setdefault(pipeline_deltas, []).append(row)
    for key, vector in ledger.of(PATTERN):
        row = {"day": key[0], **dict(zip(PATTERN_DIMS, key[1:], strict=True))}
        row.update({name: _number(name, vector[i]) for i, name in enumerate(PATTERN_MEASURES)})
        rows.setdefault(pattern_deltas, []).append(row)
    return rows


def delta_inserts(p: Params, ledger: Ledger) -> list[str]:
    """``INSERT INTO <queue> … SELECT … FROM unnest(…)`` for each queue the ledger of differences has rows
    for (none for an empty ledger), to run as one statement (:func:`queue_deltas`, or a consumer batch's
    write)."""
    inserts = []
    for table, rows in delta_rows(ledger).items():
        columns = [c.name for c in table.columns if c.name != "id"]
        values = (tuple(row[c] for c in columns) for row in rows)
        inserts.append(
            f"INSERT INTO {SCHEMA}.{table.name} ({', '.join(columns)}) "
            f"SELECT * FROM {unnest(p, table, columns, values)}"
        )
    return inserts


async def queue_deltas(session: AsyncSession, ledger: Ledger) -> None:
    """Queue a ledger of differences in the caller's transaction, one statement for every queue."""
    p = Params()
    inserts = delta_inserts(p, ledger)
    if inserts:
        ctes = ", ".join(f"q{i} AS ({sql})" for i, sql in enumerate(inserts))
        await (await raw_connection(session)).execute(f"WITH {ctes} SELECT 1", *p.values)


def _upsert(
    target: Table, day: str, dims: Sequence[str], measures: Sequence[str], *, day_from: str | None = None
) -> str:
    """``INSERT … SELECT … FROM d GROUP BY … ON CONFLICT DO UPDATE`` adding the queued rows' sums.

    ``day_from`` is the expression the target's day comes from (the month's first day for month tables)."""
    source_day = day_from or day
    keys = [source_day, *dims]
    columns = ", ".join([day, *dims, *measures])
    sums = ", ".join(f"sum({m})" for m in measures)
    conflict = ", ".join([dims[0], day, *dims[1:]])
    updates = ", ".join(f"{m} = t.{m} + excluded.{m}" for m in measures)
    group = ", ".join(keys)
    return (
        f"INSERT INTO {SCHEMA}.{target.name} AS t ({columns}) "
        f"SELECT {group}, {sums} FROM d GROUP BY {group} ORDER BY {group} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


def _hist_upsert(target: Table, dims: Sequence[str], day_from: str) -> str:
    """The queued buckets' counts merged into the target's histogram arrays: per key, the batch's buckets
    summed and aggregated into arrays, and on conflict both arrays unnested together, summed per bucket
    and aggregated again (a bucket whose count falls to 0 leaves the arrays)."""
    keys = ", ".join(dims)
    conflict = ", ".join([dims[0], "day", *dims[1:], "metric"])
    return (
        f"INSERT INTO {SCHEMA}.{target.name} AS t (day, {keys}, metric, buckets, counts) "
        f"SELECT day, {keys}, metric, array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket) "
        f"FROM (SELECT {day_from} AS day, {keys}, metric, bucket, sum(n) AS n FROM d "
        f"GROUP BY 1, {keys}, metric, bucket HAVING sum(n) <> 0) x "
        f"GROUP BY day, {keys}, metric ORDER BY day, {keys}, metric "
        f"ON CONFLICT ({conflict}) DO UPDATE SET (buckets, counts) = ("
        "SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(n ORDER BY b), '{}') "
        "FROM (SELECT b, sum(n) AS n FROM unnest(t.buckets || excluded.buckets, t.counts || excluded.counts) "
        "AS u(b, n) GROUP BY b HAVING sum(n) <> 0) m)"
    )


def _fold_statement(queue: Table, upserts: list[str]) -> TextClause:
    ctes = ",\n".join(f"u{i} AS ({sql})" for i, sql in enumerate(upserts))
    return text(
        f"WITH d AS (DELETE FROM {SCHEMA}.{queue.name} WHERE id IN ("
        f"SELECT id FROM {SCHEMA}.{queue.name} ORDER BY id LIMIT :limit) RETURNING *),\n"
        f"{ctes}\nSELECT count(*) FROM d"
    )


MONTH_OF_DAY = "date_trunc('month', day)::date"


@functools.cache
def _fold_statements() -> tuple[TextClause, ...]:
    kpi, hist = [], []
    for lv in LEVELS:
        kpi.append(_upsert(CUBES[lv.table("day")], "day", lv.dims, MEASURES))
        kpi.append(_upsert(CUBES[lv.table("month")], "day", lv.dims, MEASURES, day_from=MONTH_OF_DAY))
        hist.append(_hist_upsert(HISTS[lv.hist("day")], lv.dims, "day"))
        hist.append(_hist_upsert(HISTS[lv.hist("month")], lv.dims, MONTH_OF_DAY))
    pipeline = [_upsert(pipeline_open, "received_day", PIPELINE_DIMS, ("bills", "billed"))]
    patterns = [
        _upsert(
            PATTERNS[lv.table(g)],
            "day",
            lv.dims,
            PATTERN_MEASURES,
            day_from=None if g == "day" else MONTH_OF_DAY,
        )
        for lv in PATTERN_LEVELS
        for g in GRAINS
    ]
    return (
        _fold_statement(kpi_deltas, kpi),
        _fold_statement(hist_deltas, hist),
        _fold_statement(pipeline_deltas, pipeline),
        _fold_statement(pattern_deltas, patterns),
    )


async def fold_pending(session: AsyncSession, limit: int = 20000, *, wait: bool = False) -> int:
    """Fold up to ``limit`` queued deltas of each queue into the KPI tables, in the caller's transaction.

    Returns how many were folded; 0 when another instance is folding (it holds the lock), unless ``wait``:
    then it waits for that fold to commit and folds what is left, so a command that queued deltas in
    this transaction leaves none behind."""
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK})
    elif not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FOLD_LOCK}):
        return 0
    folded = 0
    for statement in _fold_statements():
        folded += int(await session.scalar(statement, {"limit": limit}) or 0)
    return folded


async def pending(session: AsyncSession) -> int:
    """Deltas waiting to be folded (a gauge for tests and operators)."""
    queues = (kpi_deltas, hist_deltas, pipeline_deltas, pattern_deltas)
    sql = " + ".join(f"(SELECT count(*) FROM {SCHEMA}.{q.name})" for q in queues)
    return int(await session.scalar(text(f"SELECT {sql}")) or 0)


async def truncate_all(session: AsyncSession) -> None:
    """Empty every KPI table and queue (before a rebuild from the facts)."""
    tables = [
        *CUBES.values(),
        *HISTS.values(),
        pipeline_open,
        *PATTERNS.values(),
        kpi_deltas,
        hist_deltas,
        pipeline_deltas,
        pattern_deltas,
    ]
    await session.execute(text("TRUNCATE " + ", ".join(f"{SCHEMA}.{t.name}" for t in tables)))
