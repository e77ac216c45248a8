"""Queries on intake's tables. Repositories flush; the caller's transaction commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.intake.models import Bill, BillLine, StatusHistory
from services.intake.schemas import BillIn
from services.intake.status import BillStatus, advances
from shared.errors import Conflict


class BillRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_with_details(self, bill_id: uuid.UUID) -> Bill | None:
        stmt = (
            select(Bill)
            .where(Bill.id == bill_id)
            .options(selectinload(Bill.lines), selectinload(Bill.history))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock(self, bill_id: uuid.UUID) -> Bill | None:
        """The bill row alone, locked for a status change."""
        stmt = select(Bill).where(Bill.id == bill_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find_by_claim(self, client_id: str, partner_claim_id: str) -> Bill | None:
        stmt = select(Bill).where(Bill.client_id == client_id, Bill.partner_claim_id == partner_claim_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, body: BillIn) -> Bill:
        now = datetime.now(UTC)
        bill = Bill(
            id=uuid.uuid4(),
            client_id=body.client_id,
            partner_claim_id=body.partner_claim_id,
            claim_type=body.claim_type.value,
            provider_npi=body.provider.npi,
            provider_tin=body.provider.tin,
            provider_name=body.provider.name,
            facility_state=body.facility.state,
            facility_zip=body.facility.zip,
            facility_npi=body.facility.npi,
            facility_name=body.facility.name,
            place_of_service=body.place_of_service,
            total_charge=body.total_charge,
            status=BillStatus.received.value,
            status_detail=None,
            priced_amount=None,
            agreed_amount=None,
            received_at=now,
            updated_at=now,
            lines=[
                BillLine(
                    line_number=line.line_number or position,
                    procedure_code=line.procedure_code,
                    revenue_code=line.revenue_code,
                    modifiers=list(line.modifiers),
                    units=line.units,
                    charge=line.charge,
                    service_date=line.service_date,
                    place_of_service=line.place_of_service,
                )
                for position, line in enumerate(body.lines, start=1)
            ],
            history=[StatusHistory(status=BillStatus.received.value, detail=None, event_id=None, at=now)],
        )
        try:
            # A savepoint, so that after a duplicate the transaction can still look up the first bill.
            async with self.session.begin_nested():
                self.session.add(bill)
                await self.session.flush()
        except IntegrityError as exc:
            existing = await self.find_by_claim(body.client_id, body.partner_claim_id)
            raise Conflict(
                f"claim {body.partner_claim_id!r} of client {body.client_id!r} was already received"
                + (f" as bill {existing.id}" if existing else "")
            ) from exc
        return bill

    async def record_status(
        self,
        bill: Bill,
        status: BillStatus,
        *,
        detail: str | None,
        event_id: uuid.UUID,
        at: datetime,
        priced_amount: Decimal | None = None,
        agreed_amount: Decimal | None = None,
    ) -> None:
        """Keep every change in the history; move the current status only forward."""
        self.session.add(
            StatusHistory(bill_id=bill.id, status=status.value, detail=detail, event_id=event_id, at=at)
        )
        if priced_amount is not None:
            bill.priced_amount = priced_amount
        if agreed_amount is not None:
            bill.agreed_amount = agreed_amount
        if advances(BillStatus(bill.status), status):
            bill.status = status.value
            bill.status_detail = detail
        bill.updated_at = datetime.now(UTC)
        await self.session.flush()
