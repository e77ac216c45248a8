"""Charge and allowance observations: adding them and taking them back.

The reviews read the folded figures in :mod:`services.pricing.scope_figures`.

Storage (one place = a state, ZIP3 and registered facility, :data:`PLACE`):
- ``uc_place_cells`` (kind, setting, code, place, amount, n): for every folded observation, its weight
  once, at its place and amount. A hospital's file is one place, so a file of any size writes one place
  cell per distinct (kind, setting, code, amount) it holds;
- ``uc_scope_cells`` (kind, setting, code, scope, amount, n): the same weights per amount for the wide
  scopes only, national (``US``) and the state (``ST:…``), which hold too many places to be read place by
  place; the narrow ones (ZIP3, peer groups) are read from the place cells of their places. Issue 13's
  profile: the seven per-scope upserts per amount the cells took before were the whole cost of an import;
  two of them stay, and the reviews read no scope slower than before;
- ``uc_place_scopes`` (place, scope): the scopes a place's observations count under: ``US`` (always: it
  also marks the place as known), its state, its ZIP3 and, for a registered facility, its peer group at
  four widening levels (P4 = type|beds|teaching|trauma, P3 = type|beds|teaching, P2 = type|beds,
  P1 = type);
- ``uc_totals`` (kind, setting, code, scope, n): each scope's summed weight, one probe for a review.

Invariants:
- A place or scope cell's ``n`` is the summed weight of the folded observations it describes; a
  total's ``n`` is the summed weight of the folded observations of its (kind, setting, code) whose place
  counts under its scope. Folding and withdrawing keep both exact; a count that falls to 0 is deleted.
- Places and peer scopes follow the facility registry: :func:`refold_facilities` moves a facility's
  place cells, peer mappings and peer totals around a change to it in the registry.
- File loads stage rows with COPY, keep and sum them in chunks while the file is parsed (the server
  works on a chunk while the loader parses the next rows) and fold the sums once, all in the load's own
  transaction. In-house observations (bill
  lines, accepted payments) are inserted unfolded by event handlers and folded by :func:`fold_pending`,
  which one loop at a time runs (an advisory lock), so concurrent consumers never queue on a hot total.
- A bill's own observations are withdrawn while the bill is priced, so no bill is its own evidence.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
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

# Where an observation ``o`` was seen, as one key: "state|zip3|npi" (a part empty when unknown). The NPI
# only when the registry holds it (``pf``, :data:`_REGISTERED`): only a registered facility has peers, and
# the observations of the many providers no registry knows (a payer's rates for thousands of them) then
# share one place per state and ZIP3, so a rate common to them all is one cell, not one per provider.
PLACE = "concat_ws('|', coalesce(o.state, ''), coalesce(o.zip3, ''), coalesce(pf.npi, ''))"
_REGISTERED = f"LEFT JOIN {SCHEMA}.facilities pf ON pf.npi = o.facility_npi"
# The scopes of a place ``p.place``, with its facility ``f`` (NULLs where unknown: dropped).
_PEER_SCOPES = """
    'P1:' || f.facility_type,
    'P2:' || f.facility_type || '|' || f.bed_band,
    'P3:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching,
    'P4:' || f.facility_type || '|' || f.bed_band || '|' || f.teaching || '|' || f.trauma_level
"""
_SCOPES = f"""unnest(ARRAY['US', 'ST:' || nullif(split_part(p.place, '|', 1), ''),
    'Z3:' || nullif(split_part(p.place, '|', 2), ''), {_PEER_SCOPES}])"""
_FACILITY = f"LEFT JOIN {SCHEMA}.facilities f ON f.npi = nullif(split_part(p.place, '|', 3), '')"

# Make the places of ``{rows}`` known: their scopes, from the registry as it is now.
_ADD_PLACES = f"""
    INSERT INTO {SCHEMA}.uc_place_scopes (place, scope)
    SELECT p.place, s.scope FROM (SELECT DISTINCT {PLACE} AS place FROM {{rows}} o {_REGISTERED}) p
    {_FACILITY}
    CROSS JOIN LATERAL {_SCOPES} AS s(scope)
    WHERE s.scope IS NOT NULL
    ON CONFLICT DO NOTHING
"""
# Per place and amount: the weights of ``{rows}``.
_CELL_DELTAS = f"""
    SELECT o.kind, o.setting, o.code, {PLACE} AS place, o.amount, sum(o.weight) AS n
    FROM {{rows}} o {_REGISTERED} GROUP BY 1, 2, 3, 4, 5
"""
# Per wide scope (national, state) and amount: the weights of ``{rows}``.
WIDE_SCOPES = "ARRAY['US', 'ST:' || nullif(o.state, '')]"
_SCOPE_CELL_DELTAS = f"""
    SELECT o.kind, o.setting, o.code, s.scope, o.amount, sum(o.weight) AS n
    FROM {{rows}} o CROSS JOIN LATERAL unnest({WIDE_SCOPES}) AS s(scope)
    WHERE s.scope IS NOT NULL GROUP BY 1, 2, 3, 4, 5
"""
# Per scope: the weights of ``{rows}``, through their places' scopes (``{scopes}`` narrows them).
_TOTAL_DELTAS = f"""
    SELECT r.kind, r.setting, r.code, s.scope, sum(r.n) AS n
    FROM (SELECT o.kind, o.setting, o.code, {PLACE} AS place, sum(o.weight) AS n
          FROM {{rows}} o {_REGISTERED} GROUP BY 1, 2, 3, 4) r
    JOIN {SCHEMA}.uc_place_scopes s ON s.place = r.place {{scopes}}
    GROUP BY 1, 2, 3, 4
"""
ADD_CELLS = f"""
    INSERT INTO {SCHEMA}.uc_place_cells (kind, setting, code, place, amount, n)
    {_CELL_DELTAS} ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (kind, setting, code, place, amount) DO UPDATE SET n = {SCHEMA}.uc_place_cells.n + EXCLUDED.n
"""
ADD_SCOPE_CELLS = f"""
    INSERT INTO {SCHEMA}.uc_scope_cells (kind, setting, code, scope, amount, n)
    {_SCOPE_CELL_DELTAS} ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (kind, setting, code, scope, amount) DO UPDATE SET n = {SCHEMA}.uc_scope_cells.n + EXCLUDED.n
"""
ADD_TOTALS = f"""
    INSERT INTO {SCHEMA}.uc_totals (kind, setting, code, scope, n)
    {_TOTAL_DELTAS} ORDER BY 1, 2, 3, 4
    ON CONFLICT (kind, setting, code, scope) DO UPDATE SET n = {SCHEMA}.uc_totals.n + EXCLUDED.n
"""
_TAKE_CELLS = f"""
    UPDATE {SCHEMA}.uc_place_cells c SET n = c.n - d.n FROM ({_CELL_DELTAS}) d
    WHERE (c.kind, c.setting, c.code, c.place, c.amount) = (d.kind, d.setting, d.code, d.place, d.amount)
    RETURNING c.kind, c.setting, c.code, c.place, c.amount, c.n
"""
_TAKE_SCOPE_CELLS = f"""
    UPDATE {SCHEMA}.uc_scope_cells c SET n = c.n - d.n FROM ({_SCOPE_CELL_DELTAS}) d
    WHERE (c.kind, c.setting, c.code, c.scope, c.amount) = (d.kind, d.setting, d.code, d.scope, d.amount)
    RETURNING c.kind, c.setting, c.code, c.scope, c.amount, c.n
"""
_TAKE_TOTALS = f"""
    UPDATE {SCHEMA}.uc_totals t SET n = t.n - d.n FROM ({_TOTAL_DELTAS}) d
    WHERE (t.kind, t.setting, t.code, t.scope) = (d.kind, d.setting, d.code, d.scope)
    RETURNING t.kind, t.setting, t.code, t.scope, t.n
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
        await settle(session)
        driver = await _driver(session)
        await driver.copy_records_to_table(table, records=records, schema_name=schema, columns=columns)


# What counts observations into the cells, in its order (see :func:`fold`).
FOLD = (_ADD_PLACES, ADD_CELLS, ADD_SCOPE_CELLS, ADD_TOTALS)


async def fold(session: AsyncSession, rows: str, params: dict[str, Any] | None = None) -> None:
    """Count the observations ``rows`` (SQL: a table or a parenthesised query, aliased by the caller's
    statement) into the place cells, the wide scopes' cells and the totals: four set-wise statements."""
    for statement in FOLD:
        await session.execute(text(statement.format(rows=rows, scopes="")), params or {})


async def create_staging(session: AsyncSession) -> None:
    """The temporary tables (this transaction only, no WAL, no index) of a file load: ``obs_staging``
    where it stages observations (:data:`STAGED`), ``obs_chunks`` where :func:`send_chunk` sums each
    chunk of them and ``obs_summed`` where :func:`fold_staged` sums the chunks' sums before the fold."""
    await session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS obs_staging (kind text, setting text, code text, "
            "amount numeric(12, 2), weight integer, state text, zip3 text, facility_npi text, "
            "observed_on date) ON COMMIT DROP"
        )
    )
    for table in ("obs_chunks", "obs_summed"):
        await session.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {table} (kind text, setting text, code text, "
                "amount numeric(12, 2), weight bigint, state text, zip3 text, facility_npi text) "
                "ON COMMIT DROP"
            )
        )


def staging_csv(rows: Sequence[ObservationIn]) -> bytes:
    """A batch of file observations as the text :func:`stage_csv` COPYs into the staging table.

    CSV, written by the csv module's C writer: asyncpg's binary records cost about three times as much
    Python time per row (a Decimal and a date encoded field by field), the largest share of a load's
    Python time after parsing. ``None`` is written as an empty unquoted field, CSV's NULL; no observation
    holds an empty string (every loader turns an empty field into ``None``). Batches may be joined.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


async def stage_csv(session: AsyncSession, data: bytes) -> None:
    """COPY observations (:func:`staging_csv`) into this transaction's staging table, once the chunk in
    flight on the connection, if any, is done (see :func:`send_chunk`)."""
    if not data:
        return
    await settle(session)
    driver = await _driver(session)
    # A buffer, not a file object (asyncpg reads a file in a thread, 512 kB at a time), nor bytes (taken
    # for a path).
    await driver.copy_to_table("obs_staging", source=memoryview(data), columns=STAGED, format="csv")


async def stage(session: AsyncSession, rows: Sequence[ObservationIn]) -> None:
    """COPY a batch of file observations into this transaction's staging table (see :func:`fold_staged`)."""
    if rows:
        await stage_csv(session, staging_csv(rows))


# ``session.info`` keys: the script (an asyncio task) the session's connection may still be working on;
# whether the load being staged sent chunks.
_IN_FLIGHT = "pricing.staged_in_flight"
_CHUNKED = "pricing.staged_in_chunks"
# What the fold needs of an observation (not its date), summed over the observations alike.
_SUMMED = "kind, setting, code, amount, weight, state, zip3, facility_npi"
_ALIKE = "kind, setting, code, amount, state, zip3, facility_npi"


def _literal(value: str) -> str:
    """A text value as an SQL literal, for a statement sent without parameters: ``E'…'`` with quotes and
    backslashes escaped, whatever ``standard_conforming_strings`` says."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot be stored in text")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# The hash aggregates (and, in the fold, the sorts before the cell writes) stay in memory up to this.
_WORK_MEM = "SET LOCAL work_mem = '256MB'"


def _keep(origin: str, origin_ref: str) -> str:
    """SQL: keep the staged observations as ``(origin, origin_ref)``, folded."""
    return (
        f"INSERT INTO {SCHEMA}.observations ({', '.join(COLUMNS)}) "
        f"SELECT CAST({_literal(origin)} AS text), CAST({_literal(origin_ref)} AS text), "
        f"{', '.join(STAGED)}, NULL, true FROM obs_staging"
    )


def _chunk_script(origin: str, origin_ref: str) -> list[str]:
    """Keep the staged observations, sum their weights per :data:`_ALIKE` into ``obs_chunks``, empty the
    staging table."""
    return [
        _WORK_MEM,
        _keep(origin, origin_ref),
        f"INSERT INTO obs_chunks ({_SUMMED}) "
        f"SELECT kind, setting, code, amount, sum(weight), state, zip3, facility_npi FROM obs_staging "
        f"GROUP BY {_ALIKE}",
        "TRUNCATE obs_staging",
    ]


async def _send(session: AsyncSession, statements: list[str]) -> None:
    """Send statements as one script and return as soon as the server has it; see :func:`send_chunk`."""
    await settle(session)
    driver = await _driver(session)
    script = ";\n".join(statements)
    session.info[_IN_FLIGHT] = asyncio.create_task(driver.execute(script))
    # One turn of the event loop: the task runs up to its wait for the reply, the script written.
    await asyncio.sleep(0)


async def send_chunk(session: AsyncSession, origin: str, origin_ref: str) -> None:
    """Start keeping the staged observations and summing them (the work per observation of a load) and
    return as soon as the server has it: the connection works while the caller goes on parsing the
    next rows of its file. The caller must :func:`settle` before anything else runs on the session;
    :func:`stage_csv`, :func:`copy_rows`, :func:`fold_staged` and the next ``send_chunk`` do. Anything
    that does not is refused by asyncpg (``another operation is in progress``), never interleaved.

    The statements are sent by the simple query protocol (a script: one message, no parameters), so one
    write sends them all and the server needs nothing more from this process until it is done: the
    caller's parser may hold the event loop for as long as it likes.
    """
    session.info[_CHUNKED] = True
    await _send(session, _chunk_script(origin, origin_ref))


async def chunk_running(session: AsyncSession) -> bool:
    """Whether the connection is still working on a chunk :func:`send_chunk` started.

    A parser holds the event loop, so a chunk that is done is only noticed when the loop turns: three
    turns (the socket read, the query's reply, the task's end) before the answer is "still running".
    """
    task = session.info.get(_IN_FLIGHT)
    if task is None:
        return False
    for _ in range(3):
        if task.done():
            return False
        await asyncio.sleep(0)
    return not task.done()


async def settle(session: AsyncSession) -> None:
    """Wait for the script in flight on the session's connection, if any: its error, if it failed, is
    raised here (its transaction is then aborted, and the load fails as a whole)."""
    task = session.info.pop(_IN_FLIGHT, None)
    if task is not None:
        await task


async def quiesce(session: AsyncSession) -> None:
    """On a load's error: wait until the script in flight, if any, is over, whatever its outcome, so the
    caller's rollback finds the connection free. Waiting (a chunk's work, seconds at most) is simpler
    than cancelling, which asyncpg does from a second connection whose request may reach the server late.
    """
    session.info.pop(_CHUNKED, None)
    task = session.info.pop(_IN_FLIGHT, None)
    if task is not None:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the load's own error is the one raised


async def fold_staged(session: AsyncSession, origin: str, origin_ref: str) -> None:
    """Keep the staged observations as ``(origin, origin_ref)`` and count every observation the load
    kept into the cells, then empty the temporary tables (a manifest may load several files in one
    transaction). A load that sent chunks (:func:`send_chunk`) folds their sums and the staged rows,
    summed once more; one that did not folds the staged rows as they are.

    The cells are written once per load, by one set-wise fold: each distinct cell and total once.
    Folding each chunk would rewrite the popular cells and totals again for every chunk (issue 13: 3.7
    times the Postgres CPU for the bench's wide hospital file folded in 16 chunks); what a chunk does
    instead (keep its rows, sum them) is linear in its rows, and it is what overlaps the parsing of the
    next rows.
    """
    rows, sums = "obs_staging", []
    if session.info.pop(_CHUNKED, False):
        # The same observations in several chunks, summed once: the fold then aggregates a row per
        # distinct place and amount, not one per chunk (the bench's wide hospital file: 3.1 M
        # observations in 31 chunks are 0.36 M sums; folding the chunks' sums as they were cost the
        # load 236 µs of Postgres CPU per row, 164 summed, 212 before chunks).
        rows = "obs_summed"
        sums = [
            f"INSERT INTO obs_summed ({_SUMMED}) "
            f"SELECT kind, setting, code, amount, sum(weight), state, zip3, facility_npi FROM ("
            f"SELECT {_SUMMED} FROM obs_chunks UNION ALL SELECT {_SUMMED} FROM obs_staging) AS o "
            f"GROUP BY {_ALIKE}",
            "TRUNCATE obs_chunks, obs_staging",
        ]
    await _send(
        session,
        [
            _WORK_MEM,
            _keep(origin, origin_ref),
            *sums,
            # A temporary table is never auto-analysed: without counts the planner sorts instead of hashing.
            f"ANALYZE {rows}",
            *(statement.format(rows=rows, scopes="") for statement in FOLD),
            f"TRUNCATE {rows}",
        ],
    )
    await settle(session)


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


def _emptied(taken: str, key: str) -> str:
    """SQL: the keys (JSON arrays) of the rows of ``taken`` (an UPDATE … RETURNING) now at 0 or less."""
    return (
        f"(SELECT coalesce(json_agg(json_build_array(kind, setting, code, {key})), '[]') "
        f"FROM {taken} WHERE n <= 0)"
    )


_DROP = {
    "cells": f"""DELETE FROM {SCHEMA}.uc_place_cells c USING json_array_elements(CAST(:keys AS json)) e
        WHERE (c.kind, c.setting, c.code, c.place, c.amount) =
        (e->>0, e->>1, e->>2, e->>3, CAST(e->>4 AS numeric)) AND c.n <= 0""",
    "wide": f"""DELETE FROM {SCHEMA}.uc_scope_cells c USING json_array_elements(CAST(:keys AS json)) e
        WHERE (c.kind, c.setting, c.code, c.scope, c.amount) =
        (e->>0, e->>1, e->>2, e->>3, CAST(e->>4 AS numeric)) AND c.n <= 0""",
    "totals": f"""DELETE FROM {SCHEMA}.uc_totals t USING json_array_elements(CAST(:keys AS json)) e
        WHERE (t.kind, t.setting, t.code, t.scope) = (e->>0, e->>1, e->>2, e->>3) AND t.n <= 0""",
}


async def _drop_emptied(session: AsyncSession, cells: Any, wide: Any, totals: Any) -> None:
    """Delete the place cells, scope cells and totals a withdrawal brought to 0 (JSON lists of keys),
    and only those (no scan of the tables)."""
    for name, keys in (("cells", cells), ("wide", wide), ("totals", totals)):
        if keys and keys != "[]":
            text_keys = keys if isinstance(keys, str) else json.dumps(keys)
            await session.execute(text(_DROP[name]), {"keys": text_keys})


async def withdraw(session: AsyncSession, origin: str, origin_ref: str) -> int:
    """Remove every observation of (origin, ref) and take the folded ones out of the cells and totals."""
    rows = "(SELECT * FROM gone WHERE folded)"
    gone = await session.execute(
        text(
            f"WITH gone AS (DELETE FROM {SCHEMA}.observations WHERE origin = :origin AND origin_ref = :ref "
            f"RETURNING *), cells AS ({_TAKE_CELLS.format(rows=rows)}), "
            f"wide AS ({_TAKE_SCOPE_CELLS.format(rows=rows)}), "
            f"totals AS ({_TAKE_TOTALS.format(rows=rows, scopes='')}) "
            f"SELECT (SELECT count(*) FROM gone), {_emptied('cells', 'place, amount')}, "
            f"{_emptied('wide', 'scope, amount')}, {_emptied('totals', 'scope')}"
        ),
        {"origin": origin, "ref": origin_ref},
    )
    removed, cells, wide, totals = gone.one()
    await _drop_emptied(session, cells, wide, totals)
    return int(removed)


async def fold_pending(session: AsyncSession, limit: int = 5000) -> int:
    """Fold up to ``limit`` unfolded observations into the cells; 0 if another loop holds the lock."""
    locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
    if not locked.scalar_one():
        return 0
    pending = f"(SELECT * FROM {SCHEMA}.observations WHERE NOT folded ORDER BY id LIMIT {int(limit)})"
    await session.execute(text(_ADD_PLACES.format(rows=pending)))
    # Only observations whose place is known now (its ``US`` mapping): one deposited after the statement
    # above waits for the next round, so no total misses a scope.
    result = await session.execute(
        text(
            f"WITH moved AS (UPDATE {SCHEMA}.observations SET folded = true WHERE id IN ("
            f"SELECT o.id FROM {SCHEMA}.observations o {_REGISTERED} WHERE NOT o.folded AND EXISTS ("
            f"SELECT 1 FROM {SCHEMA}.uc_place_scopes k WHERE k.place = {PLACE} AND k.scope = 'US') "
            "ORDER BY o.id LIMIT :limit FOR UPDATE OF o SKIP LOCKED) RETURNING *), "
            f"cells AS ({ADD_CELLS.format(rows='moved')} RETURNING 1), "
            f"wide AS ({ADD_SCOPE_CELLS.format(rows='moved')} RETURNING 1), "
            f"totals AS ({ADD_TOTALS.format(rows='moved', scopes='')} RETURNING 1) "
            "SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM cells), "
            "(SELECT count(*) FROM wide), (SELECT count(*) FROM totals)"
        ),
        {"limit": limit},
    )
    moved, *_ = result.one()
    return int(moved)


async def refold_facilities(session: AsyncSession, npis: Sequence[str], *, add: bool) -> None:
    """Take out (``add=False``) or put back these facilities' observations under the registry as it is:
    their place cells (a registered NPI is part of the place), the peer scopes of their places and
    their peer totals. Called before and after a change to these facilities in the registry (new,
    changed credentials, removed), so places and peer scopes always follow it. National and state
    cells and totals do not depend on the registry and stay."""
    if not npis:
        return
    # The fold loop's lock, held to the end of the registry change: an observation the loop folded
    # meanwhile would keep the place it had before the change, and no withdrawal would find it there.
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
    rows = f"(SELECT * FROM {SCHEMA}.observations WHERE folded AND facility_npi = ANY(:npis))"
    peers = "AND left(s.scope, 1) = 'P'"
    params = {"npis": list(npis)}
    if not add:
        taken = await session.execute(
            text(
                f"WITH cells AS ({_TAKE_CELLS.format(rows=rows)}), "
                f"totals AS ({_TAKE_TOTALS.format(rows=rows, scopes=peers)}) "
                f"SELECT {_emptied('cells', 'place, amount')}, {_emptied('totals', 'scope')}"
            ),
            params,
        )
        cells, totals = taken.one()
        await _drop_emptied(session, cells, None, totals)
        await session.execute(
            text(
                f"DELETE FROM {SCHEMA}.uc_place_scopes WHERE left(scope, 1) = 'P' "
                "AND split_part(place, '|', 3) = ANY(:npis)"
            ),
            params,
        )
        return
    for statement in (_ADD_PLACES, ADD_CELLS, ADD_TOTALS):
        await session.execute(text(statement.format(rows=rows, scopes=peers)), params)
