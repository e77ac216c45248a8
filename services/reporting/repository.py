"""Queries on reporting's own tables: fee terms, the per-bill facts, stored weekly reports.

Client scoping: every read takes ``clients`` (None = every client) and filters by it, so a user sees only
its clients' rows; another client's object is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.contributions import RESOLVED, Ledger, contribution, day_of
from services.reporting.cubes import queue_deltas
from services.reporting.fees import FeeKind, FeeTerms, client_lock_key, fee_for, terms_on
from services.reporting.models import BillFact, FeeTermsRow, WeeklyReport


def _terms(row: FeeTermsRow) -> FeeTerms:
    return FeeTerms(
        kind=FeeKind(row.kind),
        effective_from=row.effective_from,
        percent=row.percent,
        cap=row.cap,
        flat=row.flat,
        id=row.id,
    )


async def fee_history(session: AsyncSession, client_id: str) -> list[FeeTerms]:
    """The client's fee terms in force (not superseded), oldest first."""
    rows = await session.scalars(
        select(FeeTermsRow)
        .where(FeeTermsRow.client_id == client_id, FeeTermsRow.superseded_at.is_(None))
        .order_by(FeeTermsRow.effective_from)
    )
    return [_terms(row) for row in rows]


async def list_fee_terms(
    session: AsyncSession, client_id: str, *, include_superseded: bool = True
) -> list[FeeTermsRow]:
    stmt = select(FeeTermsRow).where(FeeTermsRow.client_id == client_id)
    if not include_superseded:
        stmt = stmt.where(FeeTermsRow.superseded_at.is_(None))
    return list(await session.scalars(stmt.order_by(FeeTermsRow.effective_from, FeeTermsRow.created_at)))


async def add_fee_terms(
    session: AsyncSession,
    client_id: str,
    terms: FeeTerms,
    *,
    note: str | None,
    created_by: str,
    zone: ZoneInfo,
) -> tuple[FeeTermsRow, int]:
    """Record new terms (superseding any with the same effective date) and re-work the fees of the
    client's bills settled or repriced on or after that date. Returns the row and how many bills'
    fees changed.

    Holds the client's fee lock exclusively: a bill being settled concurrently either committed first
    (and is re-worked here) or waits and then sees these terms."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": client_lock_key(client_id)})
    await session.execute(
        update(FeeTermsRow)
        .where(
            FeeTermsRow.client_id == client_id,
            FeeTermsRow.effective_from == terms.effective_from,
            FeeTermsRow.superseded_at.is_(None),
        )
        .values(superseded_at=func.now())
    )
    row = FeeTermsRow(
        id=uuid.uuid4(),
        client_id=client_id,
        kind=terms.kind.value,
        percent=terms.percent,
        cap=terms.cap,
        flat=terms.flat,
        effective_from=terms.effective_from,
        note=note,
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    changed = await rework_fees(session, client_id, terms.effective_from, zone)
    return row, changed


async def rework_fees(session: AsyncSession, client_id: str, since: date, zone: ZoneInfo) -> int:
    """Work out again the fees of the client's bills settled or repriced on or after ``since``."""
    history = await fee_history(session, client_id)
    start = datetime.combine(since, time(0), zone)
    stmt = (
        select(BillFact)
        .where(
            BillFact.client_id == client_id,
            BillFact.outcome.in_(RESOLVED),
            BillFact.closed_at >= start,
        )
        .with_for_update()
    )
    ledger = Ledger()
    changed = 0
    for fact in (await session.scalars(stmt)).all():
        if fact.closed_at is None or fact.savings is None:
            continue
        terms = terms_on(history, day_of(fact.closed_at, zone))
        fee = fee_for(terms, fact.savings)
        if fee == fact.fee and (terms.id if terms else None) == fact.fee_terms_id:
            continue
        before = contribution(fact, (), (), zone)
        fact.fee = fee
        fact.net_savings = fact.savings - fee
        fact.fee_terms_id = terms.id if terms else None
        after = contribution(fact, (), (), zone)
        ledger.merge(after.minus(before))
        changed += 1
    await session.flush()
    await queue_deltas(session, ledger)
    return changed


# --- per-bill facts -------------------------------------------------------------------------------------


def facts_query(
    *,
    clients: Collection[str] | None,
    client_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: str | None = None,
) -> Select[BillFact]:
    """Bills received in [since, until) (any time if None), newest first, for the caller's clients."""
    stmt = select(BillFact).where(BillFact.received_at.is_not(None))
    if clients is not None:
        stmt = stmt.where(BillFact.client_id.in_(list(clients)))
    if client_id is not None:
        stmt = stmt.where(BillFact.client_id == client_id)
    if since is not None:
        stmt = stmt.where(BillFact.received_at >= since)
    if until is not None:
        stmt = stmt.where(BillFact.received_at < until)
    if outcome is not None:
        stmt = stmt.where(BillFact.outcome == outcome)
    return stmt.order_by(BillFact.received_at.desc(), BillFact.bill_id)


async def stream_facts(session: AsyncSession, stmt: Select[BillFact]) -> AsyncIterator[BillFact]:
    """Rows one at a time from a server-side cursor: a million bills never sit in memory together."""
    result = await session.stream_scalars(stmt.execution_options(yield_per=1000))
    async for fact in result:
        yield fact
        session.expunge(fact)


async def count_demo(session: AsyncSession, clients: Collection[str] | None) -> int:
    stmt = select(func.count()).select_from(BillFact).where(BillFact.demo)
    if clients is not None:
        stmt = stmt.where(BillFact.client_id.in_(list(clients)))
    return int(await session.scalar(stmt) or 0)


# --- weekly reports -------------------------------------------------------------------------------------


async def get_report(
    session: AsyncSession, client_id: str, week: str, clients: Collection[str] | None
) -> WeeklyReport | None:
    if clients is not None and client_id not in clients:
        return None
    return await session.scalar(
        select(WeeklyReport).where(WeeklyReport.client_id == client_id, WeeklyReport.week == week)
    )


async def list_reports(
    session: AsyncSession, clients: Collection[str] | None, client_id: str | None, limit: int, offset: int
) -> tuple[list[WeeklyReport], int]:
    stmt = select(WeeklyReport)
    if clients is not None:
        stmt = stmt.where(WeeklyReport.client_id.in_(list(clients)))
    if client_id is not None:
        stmt = stmt.where(WeeklyReport.client_id == client_id)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = await session.scalars(
        stmt.order_by(WeeklyReport.week_start.desc(), WeeklyReport.client_id).limit(limit).offset(offset)
    )
    return list(rows), total
