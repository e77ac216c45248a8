"""Request and response bodies of the agreements API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.agreements.lifecycle import AgreementStatus, RecipientStatus
from shared.contracts import RecipientRole


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str = Field(
        description="drafted, sent, viewed, signed, countersigned, declined, expired, executed, "
        "link_reissued, deadline_moved"
    )
    actor: str = Field(description="Who: the signer's name, a staff user, or parley.")
    at: datetime
    role: str | None = Field(description="The recipient's role for a signer's step.")
    ip: str | None = Field(description="Source IP of a signer's step.")
    user_agent: str | None = Field(description="Browser of a signer's step.")
    detail: str | None


class RecipientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order: int = Field(description="1 signs first (the provider), then 2 (the payer's countersigner).")
    role: RecipientRole
    name: str = Field(description="Who is asked to sign.")
    email: str | None
    title: str | None
    status: RecipientStatus
    viewed_at: datetime | None
    signed_at: datetime | None
    signed_name: str | None = Field(description="The name the signer typed.")
    signed_title: str | None = Field(description="The title the signer typed.")


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    partner_claim_id: str | None
    provider_npi: str
    provider_tin: str
    provider_name: str | None
    billed: Decimal = Field(description="Billed charges, dollars.")
    agreed_amount: Decimal = Field(description="Settlement amount, dollars.")
    status: AgreementStatus
    template_id: str | None = Field(description="parley (shipped) or client:<client id>.")
    template_version: int | None
    document_sha256: str | None = Field(description="SHA-256 of the PDF as sent.")
    executed_sha256: str | None = Field(description="SHA-256 of the executed, sealed PDF.")
    sent_at: datetime | None
    expires_at: datetime | None = Field(description="Signing deadline: every link expires then.")
    signed_at: datetime | None = Field(description="When the provider signed.")
    signer_name: str | None = Field(description="The provider's signer, as typed.")
    signer_title: str | None
    executed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None = Field(description="Why it ended: executed, the decline reason, or the deadline.")
    recipients: list[RecipientOut]
    steps: list[StepOut]


class AgreementList(BaseModel):
    items: list[AgreementOut]


class LinkOut(BaseModel):
    role: RecipientRole
    url: str = Field(description="The new signing link. Shown once: only its hash is stored.")
    expires_at: datetime
    emailed: bool = Field(description="Whether an invitation with the link went to the recipient's e-mail.")


class DeadlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: datetime = Field(
        description="New signing deadline (with a time zone); must be in the future."
    )


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    template_id: str = Field(description="parley (shipped) or client:<client id>.")
    client_id: str | None
    version: int
    sha256: str = Field(description="SHA-256 of the typst source.")
    note: str | None
    uploaded_by: str
    created_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateOut]


class SignatoryOut(BaseModel):
    role: RecipientRole
    name: str | None
    title: str | None
    signed_at: datetime | None


class VerifyOut(BaseModel):
    intact: bool = Field(
        description="True only if the seal verifies, covers the whole file, was made with the certificate "
        "that sealed this agreement, and the bytes are the executed copy Parley stored."
    )
    verdict: str = Field(description='"intact" or "not intact".')
    problems: list[str] = Field(description="Why it is not intact (empty when intact).")
    agreement_id: uuid.UUID | None = Field(description="Which agreement the document is (or claims to be).")
    matches_stored_copy: bool = Field(description="Byte for byte the executed copy Parley stored.")
    sealed_by: str | None = Field(description="Subject of the sealing certificate.")
    sealed_at: datetime | None
    signatories: list[SignatoryOut] = Field(description="Who signed that agreement, per Parley's records.")
