"""Negotiation's tables, all in the ``negotiation`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    metadata = service_metadata("negotiation")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    client_id: Mapped[str] = mapped_column(Text, index=True)
    provider_npi: Mapped[str] = mapped_column(Text, index=True)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    billed: Mapped[Money]
    opening_offer: Mapped[Money]
    status: Mapped[str] = mapped_column(Text, index=True)
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    agreed_offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)

    offers: Mapped[list[Offer]] = relationship(
        order_by="Offer.seq", cascade="all, delete-orphan", lazy="selectin"
    )


class VoidedBill(Base):
    """Bills the partner voided: no case opens for them, whatever order their events arrive in."""

    __tablename__ = "voided_bills"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1 for the opening offer, then one more per counter
    party: Mapped[str] = mapped_column(Text)
    amount: Mapped[Money]
    note: Mapped[str | None] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
