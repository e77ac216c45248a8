"""Every pricing decision, and the bill it was made for (so it can be priced again later).

A bill is stored as received minus what pricing does not need (diagnoses): minimum necessary.
Re-pricing adds a revision; earlier ones are kept, each with the statement a negotiator attaches.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Date, DateTime, ForeignKey, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.pricing.models.base import Base
from shared.db import Money


class ReceivedBill(Base):
    __tablename__ = "bills"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voided: Mapped[bool] = mapped_column(default=False)
    # The payment the provider accepted (case.agreed), kept so its observations survive a re-pricing.
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class Pricing(Base):
    """One pricing decision for a bill. Re-pricing adds a revision; earlier ones are kept."""

    __tablename__ = "pricings"
    __table_args__ = (UniqueConstraint("bill_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    bill_revision: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(Text, default="bill received")
    client_id: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(Text)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    fee_schedule_id: Mapped[str | None] = mapped_column(Text)
    contract_id: Mapped[str | None] = mapped_column(Text)
    total_billed: Mapped[Money]
    total_allowed: Mapped[Money]
    unpriced_billed: Mapped[Money]
    decision: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    usual_and_customary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    statement: Mapped[str] = mapped_column(Text, default="")
    statement_sha256: Mapped[str] = mapped_column(Text, default="")
    priced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[PricingLine]] = relationship(
        order_by="PricingLine.line_number", cascade="all, delete-orphan", lazy="selectin"
    )


class PricingLine(Base):
    __tablename__ = "pricing_lines"

    pricing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pricings.id", ondelete="CASCADE"), primary_key=True
    )
    line_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text)
    modifiers: Mapped[list[str]] = mapped_column(ARRAY(Text))
    units: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    service_date: Mapped[date | None] = mapped_column(Date)
    billed: Mapped[Money]
    method_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    allowed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
