"""Request and response bodies of the agreements API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.agreements.documents import AgreementStatus

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SignatureIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"signer_name": "Dana Smith", "signer_title": "CFO"}]}
    )

    signer_name: Name = Field(description="The provider's representative who signs.")
    signer_title: Name | None = None


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str
    actor: str
    at: datetime


class AgreementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    provider_npi: str
    provider_tin: str
    provider_name: str | None
    billed: Decimal
    agreed_amount: Decimal
    status: AgreementStatus
    sent_at: datetime | None
    signed_at: datetime | None
    signer_name: str | None
    signer_title: str | None
    steps: list[StepOut]


class AgreementList(BaseModel):
    items: list[AgreementOut]
