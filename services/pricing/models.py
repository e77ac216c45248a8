"""Pricing's tables, all in the ``pricing`` schema: reference data and every pricing decision."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, DateTime, ForeignKey, Integer, Numeric, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("pricing")


bus = add_bus_tables(Base.metadata)


class RelativeValue(Base):
    """One row of the Medicare physician fee schedule relative value file (PPRRVU)."""

    __tablename__ = "rvu"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    hcpcs: Mapped[str] = mapped_column(Text, primary_key=True)
    modifier: Mapped[str] = mapped_column(Text, primary_key=True)  # "" for the global service
    status_code: Mapped[str] = mapped_column(Text)
    work_rvu: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    pe_nonfacility_rvu: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    pe_facility_rvu: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    mp_rvu: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    pctc_indicator: Mapped[str] = mapped_column(Text)
    global_days: Mapped[str] = mapped_column(Text)
    conversion_factor: Mapped[Decimal] = mapped_column(Numeric(10, 4))


class Gpci(Base):
    """Geographic practice cost indices of one Medicare locality."""

    __tablename__ = "gpci"
    __table_args__ = (UniqueConstraint("year", "mac", "locality", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    mac: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, index=True)
    locality: Mapped[str] = mapped_column(Text)
    locality_name: Mapped[str] = mapped_column(Text)
    work: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    pe: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    mp: Mapped[Decimal] = mapped_column(Numeric(6, 3))


class ReferenceLoad(Base):
    """What was loaded from which file: a reload of the same content is skipped."""

    __tablename__ = "reference_loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    rejections: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Pricing(Base):
    """One pricing decision for a bill. Re-pricing adds a revision; earlier ones are kept."""

    __tablename__ = "pricings"
    __table_args__ = (UniqueConstraint("bill_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(Text)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    total_billed: Mapped[Money]
    total_allowed: Mapped[Money]
    unpriced_billed: Mapped[Money]
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
    billed: Mapped[Money]
    schedule_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    allowed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
