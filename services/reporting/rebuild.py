"""Rebuilding the KPI tables from the per-bill facts: after an upgrade, or when a definition changes.

The same contribution function the consumers use (:mod:`services.reporting.contributions`), summed over
bills a chunk at a time and folded like any delta, so a rebuild gives exactly the tables the consumers
would have built event by event. Runs in the caller's transaction (readers see the old tables until it
commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.contributions import Approval, Finding, Ledger, contribution
from services.reporting.cubes import fold_pending, queue_deltas, truncate_all
from services.reporting.measures import LEVELS
from services.reporting.models import CUBES, BillApproval, BillFact, BillFinding, kpi_deltas


async def rebuild(
    session: AsyncSession, zone: ZoneInfo, *, chunk: int = 5000, progress: Callable[[int], None] | None = None
) -> int:
    """Empty the KPI tables and fill them again from every bill's facts; returns the bills counted."""
    await truncate_all(session)
    after: uuid.UUID | None = None
    done = 0
    while True:
        stmt = select(BillFact).order_by(BillFact.bill_id).limit(chunk)
        if after is not None:
            stmt = stmt.where(BillFact.bill_id > after)
        facts = list(await session.scalars(stmt))
        if not facts:
            break
        ids = [f.bill_id for f in facts]
        findings: dict[uuid.UUID, list[Finding]] = {}
        for row in await session.scalars(
            select(BillFinding).where(BillFinding.bill_id.in_(ids)).order_by(BillFinding.n)
        ):
            findings.setdefault(row.bill_id, []).append(
                Finding(row.rule, row.code, row.modifiers, row.amount)
            )
        approvals: dict[uuid.UUID, list[Approval]] = {}
        for a in await session.scalars(select(BillApproval).where(BillApproval.bill_id.in_(ids))):
            approvals.setdefault(a.bill_id, []).append(Approval(a.requested_at, a.decided_at, a.approved))
        ledger = Ledger()
        for fact in facts:
            ledger.merge(
                contribution(fact, findings.get(fact.bill_id, ()), approvals.get(fact.bill_id, ()), zone)
            )
        await queue_deltas(session, ledger, copy=True)
        while await fold_pending(session):
            pass
        after = ids[-1]
        done += len(facts)
        session.expunge_all()
        if progress is not None:
            progress(done)
    return done


async def needs_rebuild(session: AsyncSession) -> bool:
    """True when there are facts but the KPI tables are empty (first start after the upgrade)."""
    has_facts = await session.scalar(select(exists().where(BillFact.received_at.is_not(None))))
    has_rows = await session.scalar(select(exists().select_from(CUBES[LEVELS[0].table("day")])))
    has_queued = await session.scalar(select(exists().select_from(kpi_deltas)))
    return bool(has_facts) and not has_rows and not has_queued
