"""Building the per-bill facts from events, and the KPIs from the facts.

Each event sets only the columns it knows, with an upsert, so events of one bill arriving from several
topics in any order end in the same row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import BillFact

ZERO = Decimal("0.00")


async def record(session: AsyncSession, bill_id: uuid.UUID, **facts: Any) -> None:
    stmt = pg_insert(BillFact).values(bill_id=bill_id, **facts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[BillFact.bill_id], set_={name: stmt.excluded[name] for name in facts}
    )
    await session.execute(stmt)


@dataclass(frozen=True)
class Kpis:
    bills_received: int
    bills_priced: int
    bills_in_negotiation: int
    bills_not_negotiated: int
    bills_agreed: int
    bills_settled: int
    bills_voided: int
    total_billed: Decimal
    total_allowed: Decimal
    settled_billed: Decimal
    total_agreed: Decimal
    savings: Decimal
    savings_percent: Decimal


async def kpis(
    session: AsyncSession, client_id: str | None = None, clients: Iterable[str] | None = None
) -> Kpis:
    """The KPIs over one client's bills, or every bill of ``clients`` (None: all clients)."""
    settled = BillFact.settled_at.is_not(None)
    stmt = select(
        func.count(BillFact.received_at),
        func.count(BillFact.priced_at),
        func.count(BillFact.case_opened_at),
        func.count(BillFact.not_negotiated_reason),
        func.count(BillFact.agreed_at),
        func.count(BillFact.settled_at),
        func.count(BillFact.voided_at),
        func.coalesce(func.sum(BillFact.billed), 0),
        func.coalesce(func.sum(BillFact.allowed), 0),
        func.coalesce(func.sum(BillFact.billed).filter(settled), 0),
        func.coalesce(func.sum(BillFact.agreed_amount).filter(settled), 0),
    )
    if client_id is not None:
        stmt = stmt.where(BillFact.client_id == client_id)
    if clients is not None:
        stmt = stmt.where(BillFact.client_id.in_(list(clients)))
    row = (await session.execute(stmt)).one()
    received, priced, negotiating, not_negotiated, agreed, settled_n, voided = (int(v) for v in row[:7])
    total_billed, total_allowed, settled_billed, total_agreed = (
        Decimal(str(v)).quantize(ZERO) for v in row[7:]
    )
    savings = settled_billed - total_agreed
    percent = (
        (savings * 100 / settled_billed).quantize(ZERO, rounding=ROUND_HALF_UP) if settled_billed else ZERO
    )
    return Kpis(
        bills_received=received,
        bills_priced=priced,
        bills_in_negotiation=negotiating,
        bills_not_negotiated=not_negotiated,
        bills_agreed=agreed,
        bills_settled=settled_n,
        bills_voided=voided,
        total_billed=total_billed,
        total_allowed=total_allowed,
        settled_billed=settled_billed,
        total_agreed=total_agreed,
        savings=savings,
        savings_percent=percent,
    )
