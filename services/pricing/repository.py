"""Queries on pricing's bills and pricings. Repositories flush; the caller's transaction commits.

Reference data (schedules, terms, the registry, edits) is read through ``reference`` and its cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import (
    Pricing,
    ReceivedBill,
)


class PricingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- bills and pricings --------------------------------------------------------------------

    async def bill(self, bill_id: uuid.UUID, *, for_update: bool = False) -> ReceivedBill | None:
        query = select(ReceivedBill).where(ReceivedBill.bill_id == bill_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def bills_priced_before(self, moment: datetime) -> Sequence[uuid.UUID]:
        """Bills whose latest pricing is older than ``moment`` (e.g. a reference-data load)."""
        latest = (
            select(Pricing.bill_id, func.max(Pricing.priced_at).label("at"))
            .group_by(Pricing.bill_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(latest.c.bill_id)
            .join(ReceivedBill, ReceivedBill.bill_id == latest.c.bill_id)
            .where(latest.c.at < moment, ReceivedBill.voided.is_(False))
            .order_by(latest.c.bill_id)
        )
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

    async def history(self, bill_id: uuid.UUID, clients: Iterable[str] | None = None) -> Sequence[Pricing]:
        """Every pricing revision of the bill, oldest first; none when ``clients`` (None: all) excludes
        the bill's client."""
        query = select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision)
        if clients is not None:
            query = query.where(Pricing.client_id.in_(list(clients)))
        rows = await self.session.execute(query)
        return rows.scalars().all()

    async def add(self, pricing: Pricing) -> Pricing:
        self.session.add(pricing)
        await self.session.flush()
        return pricing
