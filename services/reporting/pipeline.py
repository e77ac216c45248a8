"""The pipeline: bills not yet settled, repriced, closed or voided, by age and by queue, as of a day.

Age is counted in calendar days from the day the bill was received (reporting time zone) to ``today``,
in seed 003's aging buckets: 0–30, 31–60, 61–90 and over 90 days. The queue is where the bill waits:
``pricing`` (received, not yet routed), the case's route (``negotiate``, ``audit``, ``review``), or
``agreement`` (terms agreed, agreement not yet executed). Kept by the consumers in ``pipeline_open``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.kpis import Filters
from services.reporting.models import pipeline_open

AGE_BUCKETS = ("0-30", "31-60", "61-90", "90+")
QUEUES = ("pricing", "negotiate", "audit", "review", "agreement")


@dataclass(frozen=True)
class PipelineCell:
    queue: str
    age: str
    bills: int
    billed: Decimal


async def pipeline(session: AsyncSession, filters: Filters, today: date) -> list[PipelineCell]:
    """Open bills by queue × age bucket (cells with no bill are left out). Uses the filters' clients,
    method, state and line of business; the period does not apply (this is a snapshot)."""
    t = pipeline_open.c
    age = literal(today) - t.received_day
    bucket = case((age <= 30, "0-30"), (age <= 60, "31-60"), (age <= 90, "61-90"), else_="90+").label("age")
    conditions = []
    if filters.clients is not None:
        conditions.append(t.client_id.in_(sorted(filters.clients)))
    for name in ("client_id", "method", "state", "line_of_business"):
        value = getattr(filters, name)
        if value is not None:
            conditions.append(t[name] == value)
    stmt = (
        select(t.queue, bucket, func.sum(t.bills).label("bills"), func.sum(t.billed).label("billed"))
        .where(*conditions)
        .group_by(t.queue, bucket)
        .having(func.sum(t.bills) != 0)
    )
    cells = [
        PipelineCell(r.queue, r.age, int(r.bills), Decimal(r.billed).quantize(Decimal("0.01")))
        for r in await session.execute(stmt)
    ]
    order = {q: i for i, q in enumerate(QUEUES)}
    return sorted(cells, key=lambda c: (order.get(c.queue, 99), c.queue, AGE_BUCKETS.index(c.age)))
