"""Queries on pricing's tables. Repositories flush; the caller's transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import Gpci, Pricing, RelativeValue


class PricingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def relative_values(self, year: int, codes: Iterable[str]) -> dict[tuple[str, str], RelativeValue]:
        codes = sorted(set(codes))
        if not codes:
            return {}
        rows = await self.session.execute(
            select(RelativeValue).where(RelativeValue.year == year, RelativeValue.hcpcs.in_(codes))
        )
        return {(r.hcpcs, r.modifier): r for r in rows.scalars()}

    async def localities(self, year: int, state: str) -> Sequence[Gpci]:
        rows = await self.session.execute(select(Gpci).where(Gpci.year == year, Gpci.state == state))
        return rows.scalars().all()

    async def next_revision(self, bill_id: uuid.UUID) -> int:
        current = await self.session.execute(
            select(func.max(Pricing.revision)).where(Pricing.bill_id == bill_id)
        )
        return int(current.scalar_one() or 0) + 1

    async def latest(self, bill_id: uuid.UUID) -> Pricing | None:
        rows = await self.session.execute(
            select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision.desc()).limit(1)
        )
        return rows.scalar_one_or_none()

    async def history(self, bill_id: uuid.UUID) -> Sequence[Pricing]:
        rows = await self.session.execute(
            select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision)
        )
        return rows.scalars().all()

    async def add(self, pricing: Pricing) -> Pricing:
        self.session.add(pricing)
        await self.session.flush()
        return pricing
