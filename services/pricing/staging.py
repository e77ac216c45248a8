"""A file load's observations on their way in: staged by COPY, kept and summed in chunks while the
file is parsed, folded once at the end (:func:`fold_staged`); and :func:`copy_rows`, the COPY every
large reference load uses.

One connection runs one statement at a time, and a chunk may still be running on it
(:func:`send_chunk`): everything here that uses the connection first waits for it (:func:`settle`).
The U&C storage itself, and how a fold counts observations into it, is :mod:`services.pricing.observations`.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.observations import COLUMNS, SCHEMA, STAGED, ObservationIn, fold
from shared.db import raw_connection


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
        driver = await raw_connection(session)
        await driver.copy_records_to_table(table, records=records, schema_name=schema, columns=columns)


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
    await session.execute(
        text("CREATE TEMP TABLE IF NOT EXISTS obs_source (origin text, origin_ref text) ON COMMIT DROP")
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
    driver = await raw_connection(session)
    # A buffer, not a file object (asyncpg reads a file in a thread, 512 kB at a time), nor bytes (taken
    # for a path).
    await driver.copy_to_table("obs_staging", source=memoryview(data), columns=STAGED, format="csv")


# ``session.info`` keys: the script (an asyncio task) the session's connection may still be working on;
# whether the load being staged sent chunks.
_IN_FLIGHT = "pricing.staged_in_flight"
_CHUNKED = "pricing.staged_in_chunks"
# What the fold needs of an observation (not its date), summed over the observations alike.
_SUMMED = "kind, setting, code, amount, weight, state, zip3, facility_npi"
_ALIKE = "kind, setting, code, amount, state, zip3, facility_npi"


# The hash aggregates (and, in the fold, the sorts before the cell writes) stay in memory up to this.
_WORK_MEM = "SET LOCAL work_mem = '256MB'"
# Keep the staged observations as the load's source (``obs_source``, see :func:`_name_source`), folded.
_KEEP = (
    f"INSERT INTO {SCHEMA}.observations ({', '.join(COLUMNS)}) "
    f"SELECT s.origin, s.origin_ref, {', '.join('o.' + c for c in STAGED)}, NULL, true "
    "FROM obs_staging o CROSS JOIN obs_source s"
)


async def _name_source(session: AsyncSession, origin: str, origin_ref: str) -> None:
    """Write the load's (origin, origin_ref) where the scripts below read it: a script is sent without
    parameters (:func:`_send`), and a source's name is the user's text, never spliced into SQL."""
    await settle(session)
    await session.execute(text("DELETE FROM obs_source"))
    await session.execute(
        text("INSERT INTO obs_source (origin, origin_ref) VALUES (:origin, :ref)"),
        {"origin": origin, "ref": origin_ref},
    )


def _chunk_script() -> list[str]:
    """Keep the staged observations, sum their weights per :data:`_ALIKE` into ``obs_chunks``, empty the
    staging table."""
    return [
        _WORK_MEM,
        _KEEP,
        f"INSERT INTO obs_chunks ({_SUMMED}) "
        f"SELECT kind, setting, code, amount, sum(weight), state, zip3, facility_npi FROM obs_staging "
        f"GROUP BY {_ALIKE}",
        "TRUNCATE obs_staging",
    ]


async def _send(session: AsyncSession, statements: list[str]) -> None:
    """Send statements as one script and return as soon as the server has it; see :func:`send_chunk`."""
    await settle(session)
    driver = await raw_connection(session)
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
    await _name_source(session, origin, origin_ref)
    session.info[_CHUNKED] = True
    await _send(session, _chunk_script())


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
    await _name_source(session, origin, origin_ref)
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
    # A temporary table is never auto-analysed: without counts the planner sorts instead of hashing.
    await _send(session, [_WORK_MEM, _KEEP, *sums, f"ANALYZE {rows}"])
    await settle(session)
    await fold(session, rows)
    await session.execute(text(f"TRUNCATE {rows}"))
