"""The bills of one consumer batch: read and locked together before the handlers, written together after.

The consumer (:class:`shared.bus.consumer.Handlers`, ``batch_scope``) enters :func:`batch_scope` with the
transaction's new events. It reads every bill they name in one statement: it creates the facts rows not
there yet and locks all of them (in bill order, so two batches lock alike), with their findings and
approvals. Handlers change the bills in memory (:func:`bill_facts`). After the last handler, one statement
writes what changed: the facts rows, findings and approvals, and the batch's KPI deltas (the bills'
contributions after the batch minus before it; the sum of the per-event differences, which telescope).
Settled and repriced bills get their fee first, under their clients' fee locks (two more statements,
only when the batch has such bills). If a handler fails, nothing is written and the transaction rolls
back; the consumer then applies the events one at a time, each a batch of one.

A bill row a batch created but no handler touched (an event that turned out to concern no bill's facts)
is deleted again, so the rows are exactly those the per-event code made.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.bulk import Params, unnest
from services.reporting.contributions import Finding, Ledger, contribution
from services.reporting.cubes import SCHEMA, delta_inserts
from services.reporting.facts import (
    FACT_COLUMNS,
    ApprovalRow,
    BillState,
    FactRow,
    is_resolved,
    settle_fee,
)
from services.reporting.fees import FeeKind, FeeTerms, client_lock_key
from services.reporting.models import BillApproval, BillFact, BillFinding
from shared.bus.consumer import BatchScope
from shared.bus.outbox import Tx
from shared.contracts import Envelope, Payload
from shared.db import raw_connection

_KEY = "reporting.facts_batch"
_COLUMNS = ", ".join(FACT_COLUMNS)
_FINDINGS = (
    f"ARRAY(SELECT ROW(x.line_number, x.rule, x.code, x.modifiers, x.amount) FROM {SCHEMA}.bill_findings x "
    "WHERE x.bill_id = l.bill_id ORDER BY x.n) AS findings"
)
_APPROVALS = (
    "ARRAY(SELECT ROW(a.approval_id, a.requested_at, a.decided_at, a.approved) "
    f"FROM {SCHEMA}.bill_approvals a WHERE a.bill_id = l.bill_id ORDER BY a.approval_id) AS approvals"
)
_LOCKED = (
    f"locked AS (SELECT {_COLUMNS} FROM {SCHEMA}.bill_facts WHERE bill_id = ANY($1::uuid[]) "
    "ORDER BY bill_id FOR UPDATE)"
)
# Rows created here are not visible to ``locked`` (one snapshot), so each bill comes from one side. A row
# another transaction committed after this statement's snapshot comes from neither: see FactsBatch.load.
_CREATE_AND_LOCK = (
    f"WITH created AS (INSERT INTO {SCHEMA}.bill_facts (bill_id) SELECT id FROM unnest($1::uuid[]) AS id "
    f"ORDER BY id ON CONFLICT DO NOTHING RETURNING {_COLUMNS}), {_LOCKED} "
    f"SELECT false AS created, l.*, {_FINDINGS}, {_APPROVALS} FROM locked l "
    "UNION ALL SELECT true, c.*, NULL, NULL FROM created c"
)
_LOCK = f"WITH {_LOCKED} SELECT false AS created, l.*, {_FINDINGS}, {_APPROVALS} FROM locked l"
_FEE_LOCKS = "SELECT count(pg_advisory_xact_lock_shared(k)) FROM unnest($1::bigint[]) AS k"
_FEE_TERMS = (
    f"SELECT id, client_id, kind, percent, cap, flat, effective_from FROM {SCHEMA}.fee_terms "
    "WHERE client_id = ANY($1::text[]) AND superseded_at IS NULL ORDER BY client_id, effective_from"
)
_FINDING_COLUMNS = ("bill_id", "n", "line_number", "rule", "code", "modifiers", "amount")
_APPROVAL_COLUMNS = ("approval_id", "bill_id", "requested_at", "decided_at", "approved")


class FactsBatch:
    """The bills one transaction reads and changes, keyed by bill id."""

    def __init__(self, session: AsyncSession, zone: ZoneInfo) -> None:
        self.session = session
        self.zone = zone
        self.bills: dict[uuid.UUID, BillState] = {}

    @staticmethod
    def current(session: AsyncSession) -> FactsBatch | None:
        """The batch of the session's transaction, if a consumer batch is open on it."""
        return session.info.get(_KEY)

    async def load(self, bill_ids: Sequence[uuid.UUID]) -> None:
        """Read and lock the bills (creating the rows of those never seen), in one statement."""
        wanted = sorted({b for b in bill_ids if b not in self.bills})
        if not wanted:
            return
        connection = await raw_connection(self.session)
        rows = await connection.fetch(_CREATE_AND_LOCK, wanted)
        missing = set(wanted) - {row["bill_id"] for row in rows}
        if missing:  # committed by another transaction after our snapshot: lock it now
            rows = [*rows, *await connection.fetch(_LOCK, sorted(missing))]
        for row in rows:
            self._add(row)
        if set(wanted) - self.bills.keys():
            raise RuntimeError("bill facts rows vanished while being locked")

    def _add(self, row: asyncpg.Record) -> None:
        fact = FactRow(*(row[c] for c in FACT_COLUMNS))
        findings = [Finding(*finding[1:]) for finding in row["findings"] or ()]
        approvals = {a[0]: ApprovalRow(*a) for a in row["approvals"] or ()}
        self.bills[fact.bill_id] = BillState(
            fact,
            findings,
            approvals,
            created=row["created"],
            stored_findings=len(findings),
            loaded=fact.values(),
            loaded_approvals={k: _approval_values(a) for k, a in approvals.items()},
        )

    async def state(self, bill_id: uuid.UUID) -> BillState:
        """The bill's state for a handler (read now if the batch did not name it)."""
        if bill_id not in self.bills:
            await self.load([bill_id])
        state = self.bills[bill_id]
        if state.before is None:  # first touched: its contribution before this batch's changes
            state.before = contribution(state.fact, state.findings, state.approval_facts(), self.zone)
        return state

    async def write(self) -> None:
        """Write what the handlers changed, with the KPI differences, in one statement (two more first
        when bills were settled or repriced: their clients' fee locks and terms)."""
        touched = [s for _, s in sorted(self.bills.items()) if s.before is not None]
        histories = await self._fee_histories(touched)
        ledger = Ledger()
        for state in touched:
            settle_fee(state.fact, self.zone, histories.get(state.fact.client_id or "", []))
            after = contribution(state.fact, state.findings, state.approval_facts(), self.zone)
            assert state.before is not None
            ledger.merge(after.minus(state.before))
        p = Params()
        ctes = [*self._changes(p, touched), *delta_inserts(p, ledger)]
        untouched = [b for b, s in sorted(self.bills.items()) if s.created and s.before is None]
        if untouched:  # no handler needed these rows: leave none behind
            ctes.append(f"DELETE FROM {SCHEMA}.bill_facts WHERE bill_id = ANY({p(untouched, 'uuid[]')})")
        if ctes:
            sql = "WITH " + ", ".join(f"w{i} AS ({cte})" for i, cte in enumerate(ctes)) + " SELECT 1"
            await (await raw_connection(self.session)).execute(sql, *p.values)

    def _changes(self, p: Params, touched: list[BillState]) -> list[str]:
        """The statements (to run as CTEs of one) writing the changed facts, findings and approvals."""
        ctes = []
        changed = [values for s in touched if (values := s.fact.values()) != s.loaded]
        if changed:
            sets = ", ".join(f"{c} = r.{c}" for c in FACT_COLUMNS[1:])
            ctes.append(
                f"UPDATE {SCHEMA}.bill_facts AS f SET {sets}, updated_at = now() "
                f"FROM {unnest(p, BillFact.__table__, FACT_COLUMNS, changed)} WHERE f.bill_id = r.bill_id"
            )
        replaced = [
            s for s in touched if s.new_findings is not None and (s.new_findings or s.stored_findings)
        ]
        if replaced:
            rows = [
                (s.fact.bill_id, n, line, f.rule, f.code, f.modifiers, f.amount)
                for s in replaced
                for n, (line, f) in enumerate(s.new_findings or (), start=1)
            ]
            counts = [len(s.new_findings or ()) for s in replaced]
            # Rows 1..k are upserted and rows past k deleted: disjoint, so one statement does both.
            ctes.append(
                f"DELETE FROM {SCHEMA}.bill_findings x USING unnest("
                f"{p([s.fact.bill_id for s in replaced], 'uuid[]')}, {p(counts, 'int[]')}) AS k(bill_id, n) "
                "WHERE x.bill_id = k.bill_id AND x.n > k.n"
            )
            if rows:
                updates = ", ".join(f"{c} = excluded.{c}" for c in _FINDING_COLUMNS[2:])
                ctes.append(
                    f"INSERT INTO {SCHEMA}.bill_findings ({', '.join(_FINDING_COLUMNS)}) "
                    f"SELECT * FROM {unnest(p, BillFinding.__table__, _FINDING_COLUMNS, rows)} "
                    f"ON CONFLICT (bill_id, n) DO UPDATE SET {updates}"
                )
        approvals = [
            (a.approval_id, s.fact.bill_id, a.requested_at, a.decided_at, a.approved)
            for s in touched
            for a in s.approvals.values()
            if s.loaded_approvals.get(a.approval_id) != _approval_values(a)
        ]
        if approvals:
            updates = ", ".join(f"{c} = excluded.{c}" for c in _APPROVAL_COLUMNS[2:])
            ctes.append(
                f"INSERT INTO {SCHEMA}.bill_approvals ({', '.join(_APPROVAL_COLUMNS)}) "
                f"SELECT * FROM {unnest(p, BillApproval.__table__, _APPROVAL_COLUMNS, approvals)} "
                f"ON CONFLICT (approval_id) DO UPDATE SET {updates}"
            )
        return ctes

    async def _fee_histories(self, touched: list[BillState]) -> dict[str, list[FeeTerms]]:
        """The fee terms in force of the clients of the resolved bills, read after taking their fee locks
        in shared mode, so terms being changed at the same moment either are seen here or re-work these
        bills after they commit (:func:`services.reporting.repository.add_fee_terms`)."""
        clients = sorted({s.fact.client_id for s in touched if s.fact.client_id and is_resolved(s.fact)})
        if not clients:
            return {}
        connection = await raw_connection(self.session)
        await connection.fetchval(_FEE_LOCKS, sorted(client_lock_key(c) for c in clients))
        histories: dict[str, list[FeeTerms]] = {}
        # A statement after the locks': it sees the terms a concurrent change committed while they waited.
        for row in await connection.fetch(_FEE_TERMS, clients):
            histories.setdefault(row["client_id"], []).append(
                FeeTerms(
                    kind=FeeKind(row["kind"]),
                    effective_from=row["effective_from"],
                    percent=row["percent"],
                    cap=row["cap"],
                    flat=row["flat"],
                    id=row["id"],
                )
            )
        return histories


def _approval_values(approval: ApprovalRow) -> tuple[object, ...]:
    return (approval.requested_at, approval.decided_at, approval.approved)


def batch_scope(zone: ZoneInfo) -> BatchScope:
    """The consumer's batch scope for reporting (see the module docstring)."""

    @contextlib.asynccontextmanager
    async def scope(tx: Tx, events: Sequence[tuple[Payload, Envelope]]) -> AsyncIterator[None]:
        batch = FactsBatch(tx.session, zone)
        await batch.load([bill for payload, _ in events if (bill := getattr(payload, "bill_id", None))])
        tx.session.info[_KEY] = batch
        try:
            yield
            await batch.write()
        finally:
            tx.session.info.pop(_KEY, None)

    return scope


@contextlib.asynccontextmanager
async def bill_facts(session: AsyncSession, bill_id: uuid.UUID, zone: ZoneInfo) -> AsyncIterator[BillState]:
    """The bill's state for a handler to change. Inside a consumer batch it comes from the batch; called on
    its own (the demo loader), it is a batch of one, written when the block ends."""
    batch = FactsBatch.current(session)
    if batch is not None:
        yield await batch.state(bill_id)
        return
    batch = FactsBatch(session, zone)
    await batch.load([bill_id])
    yield await batch.state(bill_id)
    await batch.write()
