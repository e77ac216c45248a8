"""Intake's tables, all in the ``intake`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    metadata = service_metadata("intake")


bus = add_bus_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("client_id", "partner_claim_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(Text)
    partner_claim_id: Mapped[str] = mapped_column(Text)
    claim_type: Mapped[str] = mapped_column(Text)
    provider_npi: Mapped[str] = mapped_column(Text, index=True)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    facility_state: Mapped[str] = mapped_column(Text)
    facility_zip: Mapped[str] = mapped_column(Text)
    facility_npi: Mapped[str | None] = mapped_column(Text)
    facility_name: Mapped[str | None] = mapped_column(Text)
    place_of_service: Mapped[str | None] = mapped_column(Text)
    total_charge: Mapped[Money]
    status: Mapped[str] = mapped_column(Text, index=True)
    status_detail: Mapped[str | None] = mapped_column(Text)
    priced_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # Loaded only where asked for (BillRepository.get_with_details); status updates never need them.
    lines: Mapped[list[BillLine]] = relationship(
        order_by="BillLine.line_number", cascade="all, delete-orphan", lazy="raise"
    )
    # In the order things happened, which is not always the order their events arrived.
    history: Mapped[list[StatusHistory]] = relationship(
        order_by="(StatusHistory.at, StatusHistory.id)", cascade="all, delete-orphan", lazy="raise"
    )


class BillLine(Base):
    __tablename__ = "bill_lines"

    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)
    line_number: Mapped[int] = mapped_column(primary_key=True)
    procedure_code: Mapped[str | None] = mapped_column(Text)
    revenue_code: Mapped[str | None] = mapped_column(Text)
    modifiers: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    units: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    charge: Mapped[Money]
    service_date: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(Text)


class StatusHistory(Base):
    __tablename__ = "bill_status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
