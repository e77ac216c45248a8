"""Patterns: audit findings and disputes by provider × code × modifier × rule, ranked by dollars.

Seed 003's "denial feedback loop": a problem that recurs (the same provider billing the same code with
the same modifier against the same rule) is one row with its count and dollars, not a hundred one-offs.
A finding counts on the day its bill was first priced, from the bill's latest pricing; it counts as
disputed when the bill's case closed ``disputed``. Kept by the consumers in
``patterns_{all,client}_{day,month}``: whole months of the period from the month tables, its ragged
ends from the day tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.kpis import Filters, provider_names, spans
from services.reporting.measures import PATTERN_COUNTS, PATTERN_LEVELS, PATTERN_MONEY
from services.reporting.models import PATTERNS

CENT = Decimal("0.01")
SUMS = PATTERN_COUNTS + PATTERN_MONEY


@dataclass(frozen=True)
class Pattern:
    provider_npi: str | None
    provider_name: str | None
    code: str | None
    modifiers: str | None
    rule: str
    findings: int
    at_stake: Decimal
    disputed: int
    disputed_amount: Decimal


async def patterns(
    session: AsyncSession, filters: Filters, *, rule: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Pattern], int]:
    """One page of patterns, most dollars at stake first (then most findings), and how many there are."""
    level = PATTERN_LEVELS[0] if filters.clients is None and filters.client_id is None else PATTERN_LEVELS[1]
    parts = []
    for grain, since, until in spans(filters.since, filters.until, None):
        t = PATTERNS[level.table(grain)].c
        conditions = []
        if since is not None:
            conditions.append(t.day >= since)
        if until is not None:
            conditions.append(t.day <= until)
        if filters.clients is not None:
            conditions.append(t.client_id.in_(sorted(filters.clients)))
        if filters.client_id is not None:
            conditions.append(t.client_id == filters.client_id)
        if filters.provider_npi is not None:
            conditions.append(t.provider_npi == filters.provider_npi)
        if rule is not None:
            conditions.append(t.rule == rule)
        parts.append(
            select(t.provider_npi, t.code, t.modifiers, t.rule, *(t[m] for m in SUMS)).where(*conditions)
        )
    rows_of = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    r = rows_of.c
    keys = (r.provider_npi, r.code, r.modifiers, r.rule)
    grouped = (
        select(
            *keys,
            func.sum(r.findings).label("findings"),
            func.sum(r.at_stake).label("at_stake"),
            func.sum(r.disputed).label("disputed"),
            func.sum(r.disputed_amount).label("disputed_amount"),
            func.count().over().label("groups"),  # with the page, not a second aggregation
        )
        .group_by(*keys)
        .having(func.sum(r.findings) > 0)
    )
    c = grouped.selected_columns
    page = (
        grouped.order_by(c.at_stake.desc(), c.findings.desc(), c.provider_npi, c.code, c.modifiers, c.rule)
        .limit(limit)
        .offset(offset)
    )
    rows = list(await session.execute(page))
    if rows:
        total = int(rows[0].groups)
    else:  # a page past the end: count the patterns
        counted = select(*keys).group_by(*keys).having(func.sum(r.findings) > 0).subquery()
        total = int(await session.scalar(select(func.count()).select_from(counted)) or 0)
    names = await provider_names(session, {r.provider_npi for r in rows if r.provider_npi})
    return [
        Pattern(
            provider_npi=r.provider_npi or None,
            provider_name=names.get(r.provider_npi),
            code=r.code or None,
            modifiers=r.modifiers or None,
            rule=r.rule,
            findings=int(r.findings),
            at_stake=Decimal(r.at_stake).quantize(CENT),
            disputed=int(r.disputed),
            disputed_amount=Decimal(r.disputed_amount).quantize(CENT),
        )
        for r in rows
    ], total
