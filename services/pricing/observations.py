"""Charge and allowance observations: adding them and taking them back.

The reviews read the cells in :mod:`services.pricing.scope_figures`.

Invariants:
- ``uc_cells`` holds, for every folded observation, its weight under each scope it belongs to (national,
  its state, its ZIP3, and its facility's peer group at four widening levels). Folding and withdrawing
  keep that exact: a cell's ``n`` is always the summed weight of the folded observations it describes.
- File loads stage rows with COPY and fold them in their own transaction. In-house observations (bill
  lines, accepted payments) are inserted unfolded by event handlers and folded by :func:`fold_pending`,
  which one loop at a time runs (an advisory lock), so concurrent consumers never queue on a hot cell.
- A bill's own observations are withdrawn while the bill is priced, so no bill is its own evidence.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "pricing"
FOLD_LOCK = zlib.crc32(b"pricing.uc_fold")

# The scopes one observation is counted under. Peer levels drop a credential at each step:
# P4 = type|beds|teaching|trauma, P3 = type|beds|teaching, P2 = type|beds, P1 = type.
_SCOPES_SQL = """
    unnest(ARRAY[
        'US', 'ST:' || o.state, 'Z3:' || o.zip3,
        'P1:' || f.facility_type,
        'P2:' || f.facility_type || '|' || f.bed_band,
        'P3:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching,
        'P4:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching || '|' || f.trauma_level
    ]) AS s(scope)
"""

ADD_TO_CELLS = f"""
    INSERT INTO {SCHEMA}.uc_cells (kind, setting, code, scope, amount, n)
    SELECT o.kind, o.setting, o.code, s.scope, o.amount, sum(o.weight)
    FROM {{rows}} o LEFT JOIN {SCHEMA}.facilities f ON f.npi = o.facility_npi
    CROSS JOIN LATERAL {_SCOPES_SQL}
    WHERE s.scope IS NOT NULL {{only}}
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (kind, setting, code, scope, amount) DO UPDATE SET n = {SCHEMA}.uc_cells.n + EXCLUDED.n
"""

_TAKE_FROM_CELLS = f"""
    UPDATE {SCHEMA}.uc_cells c SET n = c.n - d.n
    FROM (
        SELECT o.kind, o.setting, o.code, s.scope, o.amount, sum(o.weight) AS n
        FROM {{rows}} o LEFT JOIN {SCHEMA}.facilities f ON f.npi = o.facility_npi
        CROSS JOIN LATERAL {_SCOPES_SQL}
        WHERE s.scope IS NOT NULL {{only}}
        GROUP BY 1, 2, 3, 4, 5
    ) d
    WHERE (c.kind, c.setting, c.code, c.scope, c.amount) = (d.kind, d.setting, d.code, d.scope, d.amount)
"""

COLUMNS = (
    "origin",
    "origin_ref",
    "kind",
    "setting",
    "code",
    "amount",
    "weight",
    "state",
    "zip3",
    "facility_npi",
    "observed_on",
    "bill_id",
    "folded",
)
# What a file load stages per observation (the rest is the load's own: origin, source, folded): the
# fields of :class:`ObservationIn`, in its order, so an observation is its own staging record.
STAGED = ("kind", "setting", "code", "amount", "weight", "state", "zip3", "facility_npi", "observed_on")


class ObservationIn(NamedTuple):
    """One observation to add: a per-unit amount, with where and by whom it was seen.

    A tuple in the order of :data:`STAGED`, so batches go to COPY as they are (no per-row conversion).
    """

    kind: str  # charge | allowed | cash | percent_of_billed | per_diem
    setting: str  # professional | facility
    code: str
    amount: Decimal  # per unit, to the cent (NUMERIC(12,2))
    weight: int = 1
    state: str | None = None
    zip3: str | None = None
    facility_npi: str | None = None
    observed_on: date | None = None

    def record(
        self, origin: str, origin_ref: str, bill_id: uuid.UUID | None, folded: bool
    ) -> tuple[Any, ...]:
        return (origin, origin_ref, *self, bill_id, folded)


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def copy_rows(
    session: AsyncSession,
    table: str,
    records: Sequence[tuple[Any, ...]],
    *,
    schema: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """COPY records into a table in this transaction (a temporary one by its bare name, or one of
    ``schema``): the fast path for large reference loads."""
    if records:
        driver = await _driver(session)
        await driver.copy_records_to_table(table, records=records, schema_name=schema, columns=columns)


async def create_staging(session: AsyncSession) -> None:
    """A temporary table (this transaction only, no WAL, no index) where a file load stages its
    observations (:data:`STAGED`) before :func:`fold_staged` keeps and counts them all at once."""
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS obs_staging (kind text, setting text, code text, "
            "amount numeric(12, 2), weight integer, state text, zip3 text, facility_npi text, "
            "observed_on date) ON COMMIT DROP"
        )
    )


async def stage(session: AsyncSession, rows: Sequence[ObservationIn]) -> None:
    """COPY a batch of file observations into this transaction's staging table (see :func:`fold_staged`)."""
    await copy_rows(session, "obs_staging", rows, columns=STAGED)


async def fold_staged(session: AsyncSession, origin: str, origin_ref: str) -> None:
    """Keep the staged observations as ``(origin, origin_ref)`` and count them into the cells, once for
    the whole load, then empty the staging table (a manifest may load several files in one transaction).

    One set-wise fold at the end writes each distinct cell once; folding per batch would rewrite the
    popular cells (a national scope of a common code) again for every batch.
    """
    # The hash aggregate over every scope and the sort before the cell writes stay in memory up to this.
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    # A temporary table is never auto-analysed: without counts the planner sorts instead of hashing.
    await session.execute(text("ANALYZE obs_staging"))
    await session.execute(
        text(
            f"INSERT INTO {SCHEMA}.observations ({', '.join(COLUMNS)}) "
            f"SELECT CAST(:origin AS text), CAST(:ref AS text), {', '.join(STAGED)}, NULL, true "
            "FROM obs_staging"
        ),
        {"origin": origin, "ref": origin_ref},
    )
    await session.execute(text(ADD_TO_CELLS.format(rows="obs_staging", only="")))
    await session.execute(text("TRUNCATE obs_staging"))


async def deposit(
    session: AsyncSession, origin: str, bill_id: uuid.UUID, rows: Iterable[ObservationIn]
) -> int:
    """Add in-house observations of one bill, unfolded: the fold loop counts them shortly after."""
    records = [r.record(origin, str(bill_id), bill_id, False) for r in rows]
    if records:
        driver = await _driver(session)
        await driver.copy_records_to_table(
            "observations", schema_name=SCHEMA, columns=COLUMNS, records=records
        )
    return len(records)


async def withdraw(session: AsyncSession, origin: str, origin_ref: str) -> int:
    """Remove every observation of (origin, ref) and take the folded ones out of the cells."""
    gone = await session.execute(
        text(
            f"WITH gone AS (DELETE FROM {SCHEMA}.observations WHERE origin = :origin AND origin_ref = :ref "
            "RETURNING *), "
            f"taken AS ({_TAKE_FROM_CELLS.format(rows='gone', only='AND o.folded')} RETURNING 1) "
            "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM taken)"
        ),
        {"origin": origin, "ref": origin_ref},
    )
    removed, _ = gone.one()
    if removed:
        await _drop_empty_cells(session)
    return int(removed)


async def _drop_empty_cells(session: AsyncSession) -> None:
    await session.execute(text(f"DELETE FROM {SCHEMA}.uc_cells WHERE n <= 0"))


async def fold_pending(session: AsyncSession, limit: int = 5000) -> int:
    """Fold up to ``limit`` unfolded observations into the cells; 0 if another loop holds the lock."""
    locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
    if not locked.scalar_one():
        return 0
    result = await session.execute(
        text(
            f"WITH moved AS (UPDATE {SCHEMA}.observations SET folded = true WHERE id IN ("
            f"SELECT id FROM {SCHEMA}.observations WHERE NOT folded ORDER BY id LIMIT :limit "
            "FOR UPDATE SKIP LOCKED) RETURNING *), "
            f"added AS ({ADD_TO_CELLS.format(rows='moved', only='')} RETURNING 1) "
            "SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM added)"
        ),
        {"limit": limit},
    )
    moved, _ = result.one()
    return int(moved)


async def refold_facilities(session: AsyncSession, npis: Sequence[str], *, add: bool) -> None:
    """Take out (``add=False``) or put back the peer-group cells of these facilities' observations.

    Called around a change of their credentials, so peer cells always follow the registry.
    """
    if not npis:
        return
    rows = f"(SELECT * FROM {SCHEMA}.observations WHERE folded AND facility_npi = ANY(:npis))"
    only_peers = "AND left(s.scope, 1) = 'P'"
    statement = (ADD_TO_CELLS if add else _TAKE_FROM_CELLS).format(rows=rows, only=only_peers)
    await session.execute(text(statement), {"npis": list(npis)})
    if not add:
        await _drop_empty_cells(session)
