"""Agreements' tables, all in the ``agreements`` schema.

- ``agreements``: one per case: the terms (JSON, as the document was built from them), which template
  version made the document, where signing stands, and the hashes of the documents.
- ``agreement_recipients``: who signs, in order (the provider's signer first, then the payer side's
  countersigner), and what each did (name and title typed, time, IP, user agent).
- ``signing_links``: each recipient's link token, stored as its SHA-256 only. Resending revokes the old
  link and adds a new one; a link expires with the agreement's signing deadline.
- ``agreement_documents``: the PDFs (as sent, executed and sealed, certificate of completion) with their
  SHA-256, kept apart so listing agreements never loads a document.
- ``agreement_templates``: Parley's shipped Settlement & Release template and each client's uploaded
  templates, every version kept (an agreement names the version it was made from).
- ``agreement_steps``: the audit trail of each agreement (drafted, sent, viewed, signed, countersigned,
  declined, expired, executed, link reissued, deadline moved) with time, actor, IP and user agent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import add_access_tables
from shared.bus.tables import add_bus_tables
from shared.db import Money, service_metadata
from shared.idempotency import add_idempotency_table
from shared.jobs import add_job_table

# A hard ceiling in the database, above any configured limit (PARLEY_AGREEMENTS_MAX_DOCUMENT_BYTES,
# default 5 MB): a one-page agreement is about 30 KB, its sealed copy about 40 KB.
DOCUMENT_BYTES_CEILING = 50 * 1024 * 1024


class Base(DeclarativeBase):
    metadata = service_metadata("agreements")


bus = add_bus_tables(Base.metadata)
access = add_access_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)
jobs = add_job_table(Base.metadata)


class Agreement(Base):
    """A settlement agreement: the terms both sides accepted, and where it is in signing."""

    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    # A case can have several: after a decline or an expiry, negotiation agrees again and a new one is sent.
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    # The agreed offer it was made from: one agreement per offer.
    offer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    bill_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    client_id: Mapped[str] = mapped_column(Text, index=True)
    partner_claim_id: Mapped[str | None] = mapped_column(Text)
    provider_npi: Mapped[str] = mapped_column(Text)
    provider_tin: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    billed: Mapped[Money]
    agreed_amount: Mapped[Money]
    status: Mapped[str] = mapped_column(Text, index=True)
    # The agreed terms as the document was built from them (contains the patient reference: PHI).
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    template_id: Mapped[str | None] = mapped_column(Text)
    template_version: Mapped[int | None] = mapped_column(Integer)
    document_sha256: Mapped[str | None] = mapped_column(Text)
    executed_sha256: Mapped[str | None] = mapped_column(Text)
    seal_certificate_sha256: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signer_name: Mapped[str | None] = mapped_column(Text)
    signer_title: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list[AgreementStep]] = relationship(
        order_by="AgreementStep.id", cascade="all, delete-orphan", lazy="selectin"
    )
    recipients: Mapped[list[Recipient]] = relationship(
        order_by="Recipient.order", cascade="all, delete-orphan", lazy="selectin"
    )


class Recipient(Base):
    """One signer of an agreement, in signing order."""

    __tablename__ = "agreement_recipients"
    __table_args__ = (UniqueConstraint("agreement_id", "order"), UniqueConstraint("agreement_id", "role"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    agreement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    order: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(Text)  # RecipientRole
    name: Mapped[str] = mapped_column(Text)  # who is asked to sign
    email: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # waiting, signed, declined
    viewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_name: Mapped[str | None] = mapped_column(Text)
    signed_title: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[str | None] = mapped_column(Text)  # the consent wording the signer agreed to


class SigningLink(Base):
    """A recipient's link: only the SHA-256 of its token is kept."""

    __tablename__ = "signing_links"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreement_recipients.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgreementDocument(Base):
    """A stored PDF: ``original`` (as sent), ``executed`` (signed and sealed) or ``certificate``."""

    __tablename__ = "agreement_documents"
    __table_args__ = (
        CheckConstraint(f"octet_length(pdf) <= {DOCUMENT_BYTES_CEILING}", name="pdf_size"),
        CheckConstraint("kind IN ('original', 'executed', 'certificate')", name="kind"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgreementTemplate(Base):
    """One version of a document template (typst source). ``template_id`` is ``parley`` for the shipped
    Settlement & Release Agreement, ``client:<client id>`` for a client's own form."""

    __tablename__ = "agreement_templates"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    template_id: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text, index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgreementStep(Base):
    """Each step of an agreement's life with its time, actor and, for a person's step, IP and user agent."""

    __tablename__ = "agreement_steps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
