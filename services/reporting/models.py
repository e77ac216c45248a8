"""Reporting's tables, all in the ``reporting`` schema: one row of facts per bill, built from events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("reporting")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)


class BillFact(Base):
    """What reporting knows about one bill. Columns fill in as events arrive, in whatever order."""

    __tablename__ = "bill_facts"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(Text, index=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    billed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    priced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    method: Mapped[str | None] = mapped_column(Text)
    allowed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unpriced_billed: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    case_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_negotiated_reason: Mapped[str | None] = mapped_column(Text)
    agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
