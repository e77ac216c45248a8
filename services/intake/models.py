"""Intake's tables, all in the ``intake`` schema.

Patient identity lives in its own table (``bill_patients``) so that reading it is a deliberate act: only
the audited read of one bill loads it. Addresses are JSON documents validated on the way in.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table


class Base(DeclarativeBase):
    metadata = service_metadata("intake")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)


class Partner(Base):
    """A system that posts bills (a claims, TPA or bill-review platform), and where it wants webhooks."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # Needed to sign deliveries (HMAC), unlike API keys, which are only ever compared: so it is kept
    # encrypted (Fernet, PARLEY_SECRETS_KEYS; services/intake/secrets.py), never in plain text.
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    webhook_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by an operator (`parley intake partners set`): the character this partner writes between
    # components although its ISA16 declares another one. Null: composites must use ISA16's.
    composite_separator: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """A partner's API key: only a SHA-256 of its secret part is kept; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # the public part, printed in the key
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    label: Mapped[str | None] = mapped_column(Text)
    clients: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("partner_id", "client_id", "partner_claim_id"),
        # Partners list their bills newest first; Postgres reads the index backwards for that.
        Index("ix_bills_partner_id_received_at", "partner_id", "received_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    client_id: Mapped[str] = mapped_column(Text)
    partner_claim_id: Mapped[str] = mapped_column(Text)
    claim_type: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    frequency: Mapped[str] = mapped_column(Text, server_default=text("'original'"))
    source: Mapped[str] = mapped_column(Text, server_default=text("'json'"))
    line_of_business: Mapped[str | None] = mapped_column(Text)
    jurisdiction: Mapped[str | None] = mapped_column(Text)
    provider_npi: Mapped[str] = mapped_column(Text, index=True)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    provider_taxonomy: Mapped[str | None] = mapped_column(Text)
    provider_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    facility_state: Mapped[str] = mapped_column(Text)
    facility_zip: Mapped[str] = mapped_column(Text)
    facility_npi: Mapped[str | None] = mapped_column(Text)
    facility_name: Mapped[str | None] = mapped_column(Text)
    facility_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    type_of_bill: Mapped[str | None] = mapped_column(Text)
    admission_date: Mapped[date | None] = mapped_column(Date)
    discharge_date: Mapped[date | None] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(Text)
    diagnosis_code_set: Mapped[str] = mapped_column(Text, server_default=text("'icd10'"))
    diagnoses: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    drg: Mapped[str | None] = mapped_column(Text)
    discharge_status: Mapped[str | None] = mapped_column(Text)
    payer_claim_control_number: Mapped[str | None] = mapped_column(Text)
    # What was read but should be checked (X12: segment, position, element, message) for this revision.
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    total_charge: Mapped[Money]
    status: Mapped[str] = mapped_column(Text, index=True)
    status_detail: Mapped[str | None] = mapped_column(Text)
    priced_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    pricing_method: Mapped[str | None] = mapped_column(Text)
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When negotiation last reopened the case: events that happened before it no longer move the status.
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Loaded only where asked for (BillRepository.get_with_details); status updates never need them.
    lines: Mapped[list[BillLine]] = relationship(
        order_by="BillLine.line_number", cascade="all, delete-orphan", lazy="raise"
    )
    # In the order things happened, which is not always the order their events arrived.
    history: Mapped[list[StatusHistory]] = relationship(
        order_by="(StatusHistory.at, StatusHistory.id)", cascade="all, delete-orphan", lazy="raise"
    )
    revisions: Mapped[list[BillRevision]] = relationship(
        order_by="BillRevision.revision", cascade="all, delete-orphan", lazy="raise"
    )
    patient: Mapped[BillPatient | None] = relationship(cascade="all, delete-orphan", lazy="raise")


class BillLine(Base):
    __tablename__ = "bill_lines"

    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)
    line_number: Mapped[int] = mapped_column(primary_key=True)
    procedure_code: Mapped[str | None] = mapped_column(Text)
    revenue_code: Mapped[str | None] = mapped_column(Text)
    modifiers: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    units: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    unit_of_measure: Mapped[str] = mapped_column(Text, server_default=text("'units'"))
    charge: Mapped[Money]
    service_date: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(Text)
    ndc: Mapped[str | None] = mapped_column(Text)
    diagnosis_pointers: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default=text("'{}'"))


class BillPatient(Base):
    """The minimum the workflow needs to name the patient to the provider: no address, no gender."""

    __tablename__ = "bill_patients"

    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[date | None] = mapped_column(Date)
    member_id: Mapped[str | None] = mapped_column(Text)


class BillRevision(Base):
    """Each revision of a bill as it was received; a replacement adds one, the bill row shows the latest."""

    __tablename__ = "bill_revisions"

    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    frequency: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    total_charge: Mapped[Money]
    line_count: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The lines of a replaced revision, kept so a dispute can show what was billed first.
    replaced_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class StatusHistory(Base):
    __tablename__ = "bill_status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    """An internal user (``parley users …``). Intake holds them because it is Parley's edge; every service
    keeps a replica of their tokens' hashes from ``identity.events``."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # e.g. dana@acme-cc.example
    name: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    clients: Mapped[list[str]] = mapped_column(ARRAY(Text))  # client ids, or ["*"] for every client
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserToken(Base):
    """A user's personal or service token: only a SHA-256 of its secret part is kept; shown once."""

    __tablename__ = "user_tokens"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # the public part, printed in the token
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str | None] = mapped_column(Text)
    secret_sha256: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One status change to post to a partner: a durable queue claimed with leases, like the outbox."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index(
            "ix_webhook_deliveries_pending_bill",
            "partner_id",
            "bill_id",
            "seq",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_partner_seq", "partner_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # the event id partners see
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # exactly the bytes that are signed and sent
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.attempt", cascade="all, delete-orphan", lazy="raise"
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
