"""Queries on agreements' tables. Repositories flush; the caller's transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.agreements.models import Agreement, AgreementDocument

# Statuses in which an agreement stands for its case (see ``standing_for_case``).
STANDING = ("sent", "countersigning", "executed")


class AgreementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, agreement_id: uuid.UUID, *, for_update: bool = False, clients: Iterable[str] | None = None
    ) -> Agreement | None:
        """The agreement, if it belongs to one of ``clients`` (None: any client)."""
        stmt = select(Agreement).where(Agreement.id == agreement_id)
        if clients is not None:
            stmt = stmt.where(Agreement.client_id.in_(list(clients)))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def standing_for_case(self, case_id: uuid.UUID, offer_id: uuid.UUID) -> Agreement | None:
        """The agreement that makes a new one for this case unnecessary: the one for this very offer,
        or one still open or executed (a declined or expired agreement does not stand)."""
        stmt = (
            select(Agreement)
            .where(
                Agreement.case_id == case_id,
                (Agreement.offer_id == offer_id) | Agreement.status.in_(STANDING),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def search(
        self,
        *,
        bill_id: uuid.UUID | None,
        case_id: uuid.UUID | None,
        client_id: str | None,
        status: str | None,
        limit: int,
        offset: int,
        clients: Iterable[str] | None = None,
    ) -> Sequence[Agreement]:
        stmt = (
            select(Agreement).order_by(Agreement.created_at.desc(), Agreement.id).limit(limit).offset(offset)
        )
        if clients is not None:
            stmt = stmt.where(Agreement.client_id.in_(list(clients)))
        if bill_id is not None:
            stmt = stmt.where(Agreement.bill_id == bill_id)
        if case_id is not None:
            stmt = stmt.where(Agreement.case_id == case_id)
        if client_id is not None:
            stmt = stmt.where(Agreement.client_id == client_id)
        if status is not None:
            stmt = stmt.where(Agreement.status == status)
        return (await self.session.execute(stmt)).scalars().all()

    async def document(self, agreement_id: uuid.UUID, kind: str) -> AgreementDocument | None:
        return await self.session.get(AgreementDocument, (agreement_id, kind))

    async def by_document_sha256(self, digest: str) -> AgreementDocument | None:
        stmt = select(AgreementDocument).where(AgreementDocument.sha256 == digest).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()
