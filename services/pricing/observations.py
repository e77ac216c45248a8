"""Charge and allowance observations: adding them and taking them back.

The reviews read the folded figures in :mod:`services.pricing.scope_figures`.

Storage (one place = a state, ZIP3 and registered facility, :data:`PLACE`). A service (kind, setting,
code) and a place are known by integer ids (``uc_services``, ``uc_places``), so a cell's key is two
integers and an amount, not four text columns: issue 13's profile put most of an import in the cell
upserts, and the text keys made each 2.4 times dearer.
- ``uc_place_cells`` (service_id, place_id, amount, n): for every folded observation, its weight
  once, at its place and amount. A hospital's file is one place, so a file of any size writes one place
  cell per distinct (kind, setting, code, amount) it holds;
- ``uc_scope_cells`` (service_id, scope, amount, n): the same weights per amount for the wide
  scopes only, national (``US``) and the state (``ST:…``), which hold too many places to be read place by
  place; the narrow ones (ZIP3, peer groups) are read from the place cells of their places. Issue 13's
  profile: the seven per-scope upserts per amount the cells took before were the whole cost of an import;
  two of them stay, and the reviews read no scope slower than before;
- ``uc_place_scopes`` (place_id, scope): the scopes a place's observations count under: ``US`` (always:
  it also marks the place as known), its state, its ZIP3 and, for a registered facility, its peer group
  at four widening levels (P4 = type|beds|teaching|trauma, P3 = type|beds|teaching, P2 = type|beds,
  P1 = type);
- ``uc_totals`` (service_id, scope, n): each scope's summed weight, one probe for a review.

Invariants:
- A place or scope cell's ``n`` is the summed weight of the folded observations it describes; a
  total's ``n`` is the summed weight of the folded observations of its (kind, setting, code) whose place
  counts under its scope. Folding and withdrawing keep both exact; a count that falls to 0 is deleted.
- Places and peer scopes follow the facility registry: :func:`refold_facilities` moves a facility's
  place cells, peer mappings and peer totals around a change to it in the registry.
- File loads stage rows with COPY, keep and sum them in chunks while the file is parsed (the server
  works on a chunk while the loader parses the next rows) and fold the sums once, all in the load's own
  transaction (:mod:`services.pricing.staging`). In-house observations (bill lines, accepted
  payments) are inserted unfolded by event handlers and folded by :func:`fold_pending`, which one loop
  at a time runs (an advisory lock), so concurrent consumers never queue on a hot total.
- A bill's own observations are withdrawn while the bill is priced, so no bill is its own evidence.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import raw_connection

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

# A (kind, setting, code) and a place are integers in the cells (``uc_services``, ``uc_places``): a cell's
# key is (service, place or scope, amount), two of them integers, not four text columns (issue 13's
# profile: 2.4 times cheaper to upsert).
_SERVICE = f"JOIN {SCHEMA}.uc_services v ON v.kind = o.kind AND v.setting = o.setting AND v.code = o.code"
_PLACE_ID = f"JOIN {SCHEMA}.uc_places k ON k.place = {PLACE}"

# Make the services and places of ``{rows}`` known: their ids, and a place's scopes from the registry as
# it is now. Separate statements: a statement does not see the rows its own CTEs insert.
_ADD_SERVICES = f"""
    INSERT INTO {SCHEMA}.uc_services (kind, setting, code)
    SELECT DISTINCT o.kind, o.setting, o.code FROM {{rows}} o ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
"""
_ADD_PLACE_IDS = f"""
    INSERT INTO {SCHEMA}.uc_places (place)
    SELECT DISTINCT {PLACE} FROM {{rows}} o {_REGISTERED} ORDER BY 1
    ON CONFLICT DO NOTHING
"""
_ADD_PLACES = f"""
    INSERT INTO {SCHEMA}.uc_place_scopes (place_id, scope)
    SELECT p.id, s.scope FROM (
        SELECT DISTINCT k.id, k.place FROM {{rows}} o {_REGISTERED} {_PLACE_ID}) p
    {_FACILITY}
    CROSS JOIN LATERAL {_SCOPES} AS s(scope)
    WHERE s.scope IS NOT NULL
    ON CONFLICT DO NOTHING
"""
# The weights of ``{rows}`` per service, place and amount (with the place's state, which the place
# determines: an empty state is no state, as in :data:`PLACE`, so a row here is one per service, place
# and amount): what every cell, scope cell and total below is summed from (``{deltas}``).
_DELTAS = f"""(
    SELECT v.id AS service_id, k.id AS place_id, nullif(o.state, '') AS state, o.amount, sum(o.weight) AS n
    FROM {{rows}} o {_REGISTERED} {_SERVICE} {_PLACE_ID} GROUP BY 1, 2, 3, 4)"""
# Per place and amount (the deltas' rows already are: a place has one state).
_CELL_DELTAS = "SELECT d.service_id, d.place_id, d.amount, d.n FROM {deltas} d"
# Per wide scope (national, state) and amount.
_SCOPE_CELL_DELTAS = """
    SELECT d.service_id, s.scope, d.amount, sum(d.n) AS n
    FROM {deltas} d CROSS JOIN LATERAL unnest(ARRAY['US', 'ST:' || nullif(d.state, '')]) AS s(scope)
    WHERE s.scope IS NOT NULL GROUP BY 1, 2, 3
"""
# Per scope, through the places' scopes (``{scopes}`` narrows them).
_TOTAL_DELTAS = f"""
    SELECT r.service_id, s.scope, sum(r.n) AS n
    FROM (SELECT d.service_id, d.place_id, sum(d.n) AS n FROM {{deltas}} d GROUP BY 1, 2) r
    JOIN {SCHEMA}.uc_place_scopes s ON s.place_id = r.place_id {{scopes}}
    GROUP BY 1, 2
"""


class _Figures(NamedTuple):
    """A table of folded figures: its key columns and the SQL of its deltas."""

    table: str
    key: tuple[str, ...]
    deltas: str

    def upsert(self) -> str:
        """Add the deltas, creating what is missing; safe beside any concurrent writer.

        In key order: the index is walked in order, and the new rows land in the heap in key order, so a
        review's walk over a scope's cells reads few heap pages. (``MERGE`` was tried: a third cheaper
        per row in bulk, but its join with a large table (hashed in batches) loses the order, and the
        reviews of the bench's stays at 5 M observations read twice the pages: issue 13.)"""
        columns = ", ".join(self.key)
        order = ", ".join(str(i + 1) for i in range(len(self.key)))
        return (
            f"INSERT INTO {SCHEMA}.{self.table} ({columns}, n) {self.deltas} ORDER BY {order} "
            f"ON CONFLICT ({columns}) DO UPDATE SET n = {SCHEMA}.{self.table}.n + EXCLUDED.n"
        )

    def take(self) -> str:
        """Subtract the deltas; RETURNING each touched key and its new count."""
        keys = ", ".join(f"c.{k}" for k in self.key)
        on = " AND ".join(f"c.{k} = d.{k}" for k in self.key)
        return (
            f"UPDATE {SCHEMA}.{self.table} c SET n = c.n - d.n FROM ({self.deltas}) d WHERE {on} "
            f"RETURNING {keys}, c.n"
        )


_PLACE_CELLS = _Figures("uc_place_cells", ("service_id", "place_id", "amount"), _CELL_DELTAS)
_SCOPE_CELLS = _Figures("uc_scope_cells", ("service_id", "scope", "amount"), _SCOPE_CELL_DELTAS)
_TOTALS = _Figures("uc_totals", ("service_id", "scope"), _TOTAL_DELTAS)
_KNOW = (_ADD_SERVICES, _ADD_PLACE_IDS, _ADD_PLACES)


def _sql(statement: str, rows: str, scopes: str = "") -> str:
    """A statement above over the observations ``rows`` (a table or a parenthesised query)."""
    return statement.format(rows=rows, deltas=_DELTAS.format(rows=rows), scopes=scopes)


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


async def fold(session: AsyncSession, rows: str, params: dict[str, Any] | None = None) -> None:
    """Count the observations ``rows`` (SQL: a table or a parenthesised query, aliased by the caller's
    statement) into the place cells, the wide scopes' cells and the totals, in bulk.

    Makes their services and places known, sums the rows once per service, place and amount into a
    temporary table, and adds the place cells, scope cells and totals from it (:meth:`_Figures.upsert`).
    No lock: the upserts are safe beside the fold loop (and a load taking the loop's lock after its
    first writes could deadlock with it)."""
    params = params or {}
    for statement in _KNOW:
        await session.execute(text(_sql(statement, rows)), params)
    await session.execute(
        text(f"CREATE TEMP TABLE uc_deltas ON COMMIT DROP AS {_DELTAS.format(rows=rows)}"), params
    )
    # A temporary table is never auto-analysed: the sums below are planned from these counts.
    await session.execute(text("ANALYZE uc_deltas"))
    for figures in (_PLACE_CELLS, _SCOPE_CELLS, _TOTALS):
        await session.execute(text(figures.upsert().format(deltas="uc_deltas", scopes="")))
    await session.execute(text("DROP TABLE uc_deltas"))


async def deposit(
    session: AsyncSession, origin: str, bill_id: uuid.UUID, rows: Iterable[ObservationIn]
) -> int:
    """Add in-house observations of one bill, unfolded: the fold loop counts them shortly after."""
    records = [r.record(origin, str(bill_id), bill_id, False) for r in rows]
    if records:
        driver = await raw_connection(session)
        await driver.copy_records_to_table(
            "observations", schema_name=SCHEMA, columns=COLUMNS, records=records
        )
    return len(records)


def _emptied(taken: str, key: str) -> str:
    """SQL: the keys (JSON arrays) of the rows of ``taken`` (an UPDATE … RETURNING) now at 0 or less."""
    return f"(SELECT coalesce(json_agg(json_build_array(service_id, {key})), '[]') FROM {taken} WHERE n <= 0)"


_DROP = {
    "cells": f"""DELETE FROM {SCHEMA}.uc_place_cells c USING json_array_elements(CAST(:keys AS json)) e
        WHERE (c.service_id, c.place_id, c.amount) =
        (CAST(e->>0 AS integer), CAST(e->>1 AS integer), CAST(e->>2 AS numeric)) AND c.n <= 0""",
    "wide": f"""DELETE FROM {SCHEMA}.uc_scope_cells c USING json_array_elements(CAST(:keys AS json)) e
        WHERE (c.service_id, c.scope, c.amount) = (CAST(e->>0 AS integer), e->>1, CAST(e->>2 AS numeric))
        AND c.n <= 0""",
    "totals": f"""DELETE FROM {SCHEMA}.uc_totals t USING json_array_elements(CAST(:keys AS json)) e
        WHERE (t.service_id, t.scope) = (CAST(e->>0 AS integer), e->>1) AND t.n <= 0""",
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
            f"RETURNING *), cells AS ({_sql(_PLACE_CELLS.take(), rows)}), "
            f"wide AS ({_sql(_SCOPE_CELLS.take(), rows)}), "
            f"totals AS ({_sql(_TOTALS.take(), rows)}) "
            f"SELECT (SELECT count(*) FROM gone), {_emptied('cells', 'place_id, amount')}, "
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
    for statement in _KNOW:
        await session.execute(text(_sql(statement, pending)))
    # Only observations whose service and place are known now (the place's ``US`` mapping): one deposited
    # after the statements above waits for the next round, so no cell or total misses it.
    result = await session.execute(
        text(
            f"WITH moved AS (UPDATE {SCHEMA}.observations SET folded = true WHERE id IN ("
            f"SELECT o.id FROM {SCHEMA}.observations o {_REGISTERED} WHERE NOT o.folded AND EXISTS ("
            f"SELECT 1 FROM {SCHEMA}.uc_places k JOIN {SCHEMA}.uc_place_scopes ks ON ks.place_id = k.id "
            f"WHERE k.place = {PLACE} AND ks.scope = 'US') AND EXISTS (SELECT 1 FROM {SCHEMA}.uc_services v "
            "WHERE v.kind = o.kind AND v.setting = o.setting AND v.code = o.code) "
            "ORDER BY o.id LIMIT :limit FOR UPDATE OF o SKIP LOCKED) RETURNING *), "
            f"cells AS ({_sql(_PLACE_CELLS.upsert(), 'moved')} RETURNING 1), "
            f"wide AS ({_sql(_SCOPE_CELLS.upsert(), 'moved')} RETURNING 1), "
            f"totals AS ({_sql(_TOTALS.upsert(), 'moved')} RETURNING 1) "
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
                f"WITH cells AS ({_sql(_PLACE_CELLS.take(), rows)}), "
                f"totals AS ({_sql(_TOTALS.take(), rows, peers)}) "
                f"SELECT {_emptied('cells', 'place_id, amount')}, {_emptied('totals', 'scope')}"
            ),
            params,
        )
        cells, totals = taken.one()
        await _drop_emptied(session, cells, None, totals)
        await session.execute(
            text(
                f"DELETE FROM {SCHEMA}.uc_place_scopes WHERE left(scope, 1) = 'P' AND place_id IN ("
                f"SELECT id FROM {SCHEMA}.uc_places WHERE split_part(place, '|', 3) = ANY(:npis))"
            ),
            params,
        )
        return
    for statement in (*_KNOW, _PLACE_CELLS.upsert(), _TOTALS.upsert()):
        await session.execute(text(_sql(statement, rows, peers)), params)
