"""``agreements.events``: the settlement agreement sent, signed and executed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import Money, Payload, Topic

# --- agreements.events ---------------------------------------------------------------------------


class AgreementSentV1(Payload):
    event_type: ClassVar[str] = "agreement.sent"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    agreed_amount: Money
    sent_at: datetime


class AgreementSignedV1(Payload):
    event_type: ClassVar[str] = "agreement.signed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    agreed_amount: Money
    signer_name: str
    signed_at: datetime


# --- version 2: documents from templates, ordered e-signature by link, the sealed executed copy ------


class RecipientRole(StrEnum):
    provider = "provider"  # signs first
    countersigner = "countersigner"  # the payer side signs second


class RecipientV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: int = Field(description="1 signs first.")
    role: RecipientRole
    name: str
    email: str | None = None


class AgreementSentV2(Payload):
    """The agreement was rendered and its signing links issued, all at once or not at all."""

    event_type: ClassVar[str] = "agreement.sent"
    version: ClassVar[int] = 2
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    agreed_amount: Money
    template_id: str
    template_version: int
    document_sha256: str
    recipients: list[RecipientV1]
    expires_at: datetime
    sent_at: datetime


class AgreementViewedV1(Payload):
    event_type: ClassVar[str] = "agreement.viewed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    role: RecipientRole
    viewed_at: datetime


class AgreementSignedV2(Payload):
    """A recipient signed: the provider (``agreement.signed``)."""

    event_type: ClassVar[str] = "agreement.signed"
    version: ClassVar[int] = 2
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    agreed_amount: Money
    role: RecipientRole
    signer_name: str
    signer_title: str | None
    signed_at: datetime


class AgreementCountersignedV1(Payload):
    """The payer side signed after the provider."""

    event_type: ClassVar[str] = "agreement.countersigned"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    signer_name: str
    signer_title: str | None
    countersigned_at: datetime


class AgreementDeclinedV1(Payload):
    """A recipient declined to sign, with a reason: the case goes back to negotiation."""

    event_type: ClassVar[str] = "agreement.declined"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    role: RecipientRole
    signer_name: str | None
    reason: str
    declined_at: datetime


class AgreementExpiredV1(Payload):
    """Signing links expired before the agreement was executed."""

    event_type: ClassVar[str] = "agreement.expired"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    waiting_for: RecipientRole | None
    expired_at: datetime


class AgreementExecutedV1(Payload):
    """Every recipient signed and the executed copy is sealed: the case settles on this event."""

    event_type: ClassVar[str] = "agreement.executed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    agreed_amount: Money
    document_sha256: str = Field(description="SHA-256 of the document as sent.")
    executed_sha256: str = Field(description="SHA-256 of the sealed executed PDF.")
    provider_signer: str
    countersigner: str
    executed_at: datetime
