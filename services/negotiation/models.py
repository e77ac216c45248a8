"""Negotiation's tables, all in the ``negotiation`` schema.

Three groups: the case and what happens in it (offers, approvals, confirmations, clocks, history); the
bill facts negotiation needs from ``bill.received`` (claim reference, patient reference, dates of
service); and the provider database keyed by TIN. Patient columns are protected health information:
they are read for the duplicate-payment check and the settlement terms only, and never logged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table
from shared.jobs import add_job_table


class Base(DeclarativeBase):
    metadata = service_metadata("negotiation")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)
jobs = add_job_table(Base.metadata)

OptionalMoney = Mapped[Decimal | None]


def _money() -> Any:
    return mapped_column(Numeric(12, 2))


# --- the case ------------------------------------------------------------------------------------


class Case(Base):
    """One bill's case: its route, the pricing it rests on, where it stands, and how it ended."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    client_id: Mapped[str] = mapped_column(Text, index=True)
    provider_npi: Mapped[str] = mapped_column(Text, index=True)
    provider_tin: Mapped[str] = mapped_column(Text, index=True)
    provider_name: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)  # the pricing jurisdiction (the facility's state)
    billed: Mapped[Money]
    # Routing (services/negotiation/routing.py); route_set_by is 'parley' or the supervisor who set it.
    route: Mapped[str] = mapped_column(Text, index=True, server_default=text("'negotiate'"))
    route_reason: Mapped[str] = mapped_column(Text, server_default=text("''"))
    route_set_by: Mapped[str] = mapped_column(Text, server_default=text("'parley'"))
    # The pricing the case rests on (the latest revision seen).
    method: Mapped[str] = mapped_column(Text)
    pricing_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    pricing_revision: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    statement_sha256: Mapped[str | None] = mapped_column(Text)
    target: OptionalMoney = _money()  # total allowed over the priced lines (U&C: sum of line medians)
    unpriced_billed: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default=text("0"))
    findings_at_stake: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default=text("0"))
    at_stake: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default=text("0"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # The strategy's opening offer (services/negotiation/strategy.py) and the first offer actually made.
    suggested_offer: OptionalMoney = _money()
    suggested_basis: Mapped[str | None] = mapped_column(Text)
    opening_offer: OptionalMoney = _money()
    status: Mapped[str] = mapped_column(Text, index=True)
    assignee: Mapped[str | None] = mapped_column(Text, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Agreement in principle (an offer accepted), then agreed once both sides confirmed the terms.
    accepted_offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agreed_amount: OptionalMoney = _money()
    agreed_offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    blocked_reason: Mapped[str | None] = mapped_column(Text)  # why agreement is blocked (duplicate…)
    attention: Mapped[str | None] = mapped_column(Text)  # a flag for the negotiator, with its reason
    follow_up_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)

    offers: Mapped[list[Offer]] = relationship(
        order_by="Offer.seq", cascade="all, delete-orphan", lazy="selectin"
    )
    approvals: Mapped[list[Approval]] = relationship(
        order_by="Approval.requested_at", cascade="all, delete-orphan", lazy="selectin"
    )
    confirmations: Mapped[list[Confirmation]] = relationship(
        order_by="Confirmation.confirmed_at", cascade="all, delete-orphan", lazy="selectin"
    )
    clocks: Mapped[list[Clock]] = relationship(
        order_by="Clock.started_at", cascade="all, delete-orphan", lazy="selectin"
    )


class Offer(Base):
    """An offer or counter-offer, with the evidence it rests on. Never changed once made, except its
    status (open → accepted / countered / declined / expired / superseded) and a flag."""

    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1 for the first offer, then one more per offer
    party: Mapped[str] = mapped_column(Text)
    amount: Mapped[Money]
    note: Mapped[str | None] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    made_by: Mapped[str] = mapped_column(Text, server_default=text("'parley'"))
    basis: Mapped[str] = mapped_column(Text, server_default=text("''"))
    statement_sha256: Mapped[str | None] = mapped_column(Text)
    pricing_revision: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quick_pay_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    quick_pay_days: Mapped[int | None] = mapped_column(Integer)
    quick_pay_amount: OptionalMoney = _money()
    automatic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'open'"))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_reason: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[str | None] = mapped_column(Text)  # why this offer no longer matches the case
    approval_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The provider's link: only the SHA-256 of its token is kept; it expires with the offer.
    link_token_sha256: Mapped[str | None] = mapped_column(Text, unique=True)
    link_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    link_viewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Approval(Base):
    """A request to go beyond the requester's settlement authority, and the supervisor's decision."""

    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(Text)  # offer | accept
    amount: Mapped[Money]
    limit_amount: Mapped[Money]
    rule: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, index=True)  # pending | approved | denied | used
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[str | None] = mapped_column(Text)  # who made the offer or acceptance it allowed


class Confirmation(Base):
    """One side confirming the agreed terms (amount, payment terms, references)."""

    __tablename__ = "confirmations"
    __table_args__ = (UniqueConstraint("case_id", "offer_id", "party"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    party: Mapped[str] = mapped_column(Text)
    amount: Mapped[Money]
    confirmed_by: Mapped[str] = mapped_column(Text)  # the person who confirmed (contact, or user id)
    contact_title: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)  # user id, or 'offer_page'
    via: Mapped[str] = mapped_column(Text)  # offer_page | recorded
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    current: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))  # false after a reopen


class Clock(Base):
    """A statutory clock on the case, e.g. the No Surprises Act's 30 business days of open negotiation."""

    __tablename__ = "clocks"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    follow_on_due: Mapped[date | None] = mapped_column(Date)  # NSA: last day to initiate IDR
    status: Mapped[str] = mapped_column(Text)  # running | lapsed | met | stopped
    started_by: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseHistory(Base):
    """Every step of a case in order: routed, assigned, offers, approvals, confirmations, flags."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)


class VoidedBill(Base):
    """Bills the partner voided: no case opens for them, whatever order their events arrive in."""

    __tablename__ = "voided_bills"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BillFacts(Base):
    """What negotiation keeps of ``bill.received`` (latest revision): references for the agreement and
    the duplicate-payment check. Patient columns are PHI: minimum necessary, never logged."""

    __tablename__ = "bill_facts"

    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(Text)
    partner_claim_id: Mapped[str] = mapped_column(Text)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_npi: Mapped[str] = mapped_column(Text)
    line_of_business: Mapped[str | None] = mapped_column(Text)
    jurisdiction: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    service_from: Mapped[date] = mapped_column(Date)
    service_to: Mapped[date] = mapped_column(Date)
    patient_first_name: Mapped[str | None] = mapped_column(Text)
    patient_last_name: Mapped[str | None] = mapped_column(Text)
    patient_birth_date: Mapped[date | None] = mapped_column(Date)
    patient_member_id: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of client, provider TIN, patient and dates of service: equal keys are the same service.
    duplicate_key: Mapped[str] = mapped_column(Text, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientSettings(Base):
    """Per-client negotiation settings set by an admin (services/negotiation/client_settings.py)."""

    __tablename__ = "client_settings"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- the provider database (keyed by TIN) ----------------------------------------------------------


class Provider(Base):
    __tablename__ = "providers"

    tin: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderNpi(Base):
    """An NPI billing under the TIN (from bills), or a facility where it treated (``kind``)."""

    __tablename__ = "provider_npis"

    tin: Mapped[str] = mapped_column(ForeignKey("providers.tin", ondelete="CASCADE"), primary_key=True)
    npi: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)  # billing | facility
    name: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    zip: Mapped[str | None] = mapped_column(Text)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderContact(Base):
    __tablename__ = "provider_contacts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tin: Mapped[str] = mapped_column(ForeignKey("providers.tin", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderNote(Base):
    __tablename__ = "provider_notes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tin: Mapped[str] = mapped_column(ForeignKey("providers.tin", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    author: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)


class ProviderPrice(Base):
    """One priced line of a bill from this provider: billed and the U&C target (latest pricing)."""

    __tablename__ = "provider_prices"

    tin: Mapped[str] = mapped_column(ForeignKey("providers.tin", ondelete="CASCADE"), primary_key=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    line_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, index=True)
    units: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    billed: Mapped[Money]
    uc_target: OptionalMoney = _money()  # the line's median of the three U&C reviews
    allowed: OptionalMoney = _money()  # what the bill's method allowed for the line
    method: Mapped[str] = mapped_column(Text)
    priced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderPayment(Base):
    """A payment the provider accepted (written when both sides confirmed; withdrawn if reopened)."""

    __tablename__ = "provider_payments"

    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tin: Mapped[str] = mapped_column(ForeignKey("providers.tin", ondelete="CASCADE"), index=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    client_id: Mapped[str] = mapped_column(Text)
    billed: Mapped[Money]
    target: OptionalMoney = _money()
    amount: Mapped[Money]
    share_of_billed: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    share_of_target: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    days_to_agree: Mapped[int] = mapped_column(Integer)
    quick_pay_taken: Mapped[bool] = mapped_column(Boolean)
    first_offer_accepted: Mapped[bool] = mapped_column(Boolean)
    agreed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
