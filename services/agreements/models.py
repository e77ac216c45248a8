"""Agreements' tables, all in the ``agreements`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    metadata = service_metadata("agreements")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)


class Agreement(Base):
    """A settlement agreement: the terms both sides accepted, and where it is in signing."""

    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    client_id: Mapped[str] = mapped_column(Text)
    provider_npi: Mapped[str] = mapped_column(Text)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    billed: Mapped[Money]
    agreed_amount: Mapped[Money]
    status: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signer_name: Mapped[str | None] = mapped_column(Text)
    signer_title: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list[AgreementStep]] = relationship(
        order_by="AgreementStep.id", cascade="all, delete-orphan", lazy="selectin"
    )


class AgreementStep(Base):
    """Each step of an agreement's life (drafted, sent, signed…) with its time and actor."""

    __tablename__ = "agreement_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
