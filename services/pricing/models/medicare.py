"""Medicare reference tables: the physician fee schedule (RVU, GPCI, localities) and OPPS Addendum B.

Every row belongs to a year; a load replaces that year's rows of its table in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, Integer, Numeric, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.pricing.models.base import Base


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


class LocalityCounty(Base):
    """Which counties make up a Medicare locality (25LOCCO): shown beside the locality a line used."""

    __tablename__ = "locality_counties"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    mac: Mapped[str] = mapped_column(Text, primary_key=True)
    locality: Mapped[str] = mapped_column(Text, primary_key=True)
    state_name: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(Text)
    counties: Mapped[str] = mapped_column(Text)


class OppsRate(Base):
    """One HCPCS row of the hospital outpatient prospective payment system's Addendum B."""

    __tablename__ = "opps_rates"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    hcpcs: Mapped[str] = mapped_column(Text, primary_key=True)
    status_indicator: Mapped[str] = mapped_column(Text)
    apc: Mapped[str | None] = mapped_column(Text)
    relative_weight: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    payment_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class ReferenceLoad(Base):
    """What was loaded from which file: a reload of the same content for the same target is skipped."""

    __tablename__ = "reference_loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)  # the CMS year, or 0 for datasets without one
    target: Mapped[str] = mapped_column(Text, server_default="")  # e.g. the observation source's name
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    rejections: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    # What the person loading should know: an encoding fallback, the sheet read, values kept out and why.
    notes: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReferenceVersion(Base):
    """One row: a token replaced by every reference load and unload (``reference_cache.bump``), so each
    pricing process knows when its cached reference data is stale."""

    __tablename__ = "reference_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), server_default=text("gen_random_uuid()"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
