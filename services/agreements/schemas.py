"""Request and response bodies of the agreements API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.agreements.lifecycle import AgreementStatus, RecipientStatus
from shared.contracts import RecipientRole


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str = Field(
        description="drafted, sent, viewed, signed, countersigned, declined, expired, executed, "
        "link_reissued, deadline_moved"
    )
    actor: str = Field(description="Who: the signer's name, a staff user, or parley.")
    at: datetime = Field(description="When (UTC).")
    role: str | None = Field(description="The recipient's role for a signer's step.")
    ip: str | None = Field(description="Source IP of a signer's step.")
    user_agent: str | None = Field(description="Browser of a signer's step.")
    detail: str | None = Field(description="What else the step records (template, reason, hash, title).")


class RecipientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order: int = Field(description="1 signs first (the provider), then 2 (the payer's countersigner).")
    role: RecipientRole
    name: str = Field(description="Who is asked to sign.")
    email: str | None = Field(description="Where the invitation went, if anywhere.")
    title: str | None = Field(description="The title the recipient was asked to sign with.")
    status: RecipientStatus
    viewed_at: datetime | None = Field(description="First view of the signing page.")
    signed_at: datetime | None = Field(description="When they signed.")
    signed_name: str | None = Field(description="The name the signer typed.")
    signed_title: str | None = Field(description="The title the signer typed.")


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The agreement's id (also the document id).")
    case_id: uuid.UUID = Field(description="The negotiation case it settles.")
    bill_id: uuid.UUID = Field(description="The bill.")
    client_id: str = Field(description="The payer (client).")
    partner_claim_id: str | None = Field(description="The partner's claim number (case.agreed v2).")
    provider_npi: str = Field(description="Provider NPI.")
    provider_tin: str = Field(description="Provider TIN.")
    provider_name: str | None = Field(description="Provider name.")
    billed: Decimal = Field(description="Billed charges, dollars.")
    agreed_amount: Decimal = Field(description="Settlement amount, dollars.")
    status: AgreementStatus
    template_id: str | None = Field(description="parley (shipped) or client:<client id>.")
    template_version: int | None = Field(description="The template version the document was made from.")
    document_sha256: str | None = Field(description="SHA-256 of the PDF as sent.")
    executed_sha256: str | None = Field(description="SHA-256 of the executed, sealed PDF.")
    sent_at: datetime | None = Field(description="When the links went out.")
    expires_at: datetime | None = Field(description="Signing deadline: every link expires then.")
    signed_at: datetime | None = Field(description="When the provider signed.")
    signer_name: str | None = Field(description="The provider's signer, as typed.")
    signer_title: str | None = Field(description="The provider's signer's title, as typed.")
    executed_at: datetime | None = Field(description="When the countersignature executed it.")
    ended_at: datetime | None = Field(description="When it was executed, declined or expired.")
    end_reason: str | None = Field(description="Why it ended: executed, the decline reason, or the deadline.")
    recipients: list[RecipientOut] = Field(description="Who signs, in order.")
    steps: list[StepOut] = Field(description="The trail: every step with time, actor, IP and user agent.")


class AgreementList(BaseModel):
    items: list[AgreementOut] = Field(description="Agreements, newest first.")


class LinkOut(BaseModel):
    role: RecipientRole
    url: str = Field(description="The new signing link. Shown once: only its hash is stored.")
    expires_at: datetime = Field(description="The link expires then (the signing deadline).")
    emailed: bool = Field(description="Whether an invitation with the link went to the recipient's e-mail.")


class DeadlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: AwareDatetime = Field(
        description="New signing deadline, with its time zone (e.g. 2026-12-04T23:59:59Z); in the future."
    )


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    template_id: str = Field(description="parley (shipped) or client:<client id>.")
    client_id: str | None = Field(description="The client whose form it is (none for Parley's).")
    version: int = Field(description="1, 2, …: the newest is used for new agreements.")
    sha256: str = Field(description="SHA-256 of the typst source.")
    note: str | None = Field(description="What changed, as the uploader said.")
    uploaded_by: str = Field(description="Who uploaded it (parley for the shipped template).")
    created_at: datetime = Field(description="When it was uploaded.")


class TemplateList(BaseModel):
    items: list[TemplateOut] = Field(description="Template versions, by template and version.")


class SignatoryOut(BaseModel):
    role: RecipientRole
    name: str | None = Field(description="The name the signer typed.")
    title: str | None = Field(description="The title the signer typed.")
    signed_at: datetime | None = Field(description="When they signed.")


class VerifyOut(BaseModel):
    intact: bool = Field(
        description="True only if the seal verifies, covers the whole file, was made with the certificate "
        "that sealed this agreement, and the bytes are the executed copy Parley stored."
    )
    verdict: str = Field(description='"intact" or "not intact".')
    problems: list[str] = Field(description="Why it is not intact (empty when intact).")
    agreement_id: uuid.UUID | None = Field(description="Which agreement the document is (or claims to be).")
    matches_stored_copy: bool = Field(description="Byte for byte the executed copy Parley stored.")
    stored_as: Literal["executed", "as_sent", "certificate"] | None = Field(
        default=None,
        description="Which of the agreement's stored documents these exact bytes are: the executed copy, "
        "the copy as sent for signature (never intact: not executed), or the certificate of completion; "
        "None when Parley stores no such file.",
    )
    sealed_by: str | None = Field(description="Subject of the sealing certificate.")
    sealed_at: datetime | None = Field(description="The signing time in the seal.")
    signatories: list[SignatoryOut] = Field(description="Who signed that agreement, per Parley's records.")
