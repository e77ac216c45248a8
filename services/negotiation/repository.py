"""Queries on negotiation's tables. Repositories flush; the caller's transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.models import Case, VoidedBill


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, case_id: uuid.UUID, *, for_update: bool = False, clients: Iterable[str] | None = None
    ) -> Case | None:
        """The case, if it belongs to one of ``clients`` (None: any client)."""
        stmt = select(Case).where(Case.id == case_id)
        if clients is not None:
            stmt = stmt.where(Case.client_id.in_(list(clients)))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_bill(self, bill_id: uuid.UUID) -> Case | None:
        stmt = select(Case).where(Case.bill_id == bill_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def record_void(self, bill_id: uuid.UUID, reason: str, at: datetime) -> None:
        stmt = pg_insert(VoidedBill).values(bill_id=bill_id, reason=reason, voided_at=at)
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def is_voided(self, bill_id: uuid.UUID) -> bool:
        return await self.session.get(VoidedBill, bill_id) is not None

    async def exists_for_bill(self, bill_id: uuid.UUID) -> bool:
        stmt = select(Case.id).where(Case.bill_id == bill_id)
        return (await self.session.execute(stmt)).first() is not None

    async def search(
        self,
        *,
        bill_id: uuid.UUID | None,
        status: str | None,
        client_id: str | None,
        limit: int,
        offset: int,
        clients: Iterable[str] | None = None,
    ) -> Sequence[Case]:
        stmt = select(Case).order_by(Case.opened_at.desc(), Case.id).limit(limit).offset(offset)
        if clients is not None:
            stmt = stmt.where(Case.client_id.in_(list(clients)))
        if bill_id is not None:
            stmt = stmt.where(Case.bill_id == bill_id)
        if status is not None:
            stmt = stmt.where(Case.status == status)
        if client_id is not None:
            stmt = stmt.where(Case.client_id == client_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def add(self, case: Case) -> Case:
        self.session.add(case)
        await self.session.flush()
        return case
