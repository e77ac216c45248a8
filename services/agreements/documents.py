"""The settlement agreement's life: drafted from agreed terms and sent, then signed by the provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from services.agreements.models import Agreement, AgreementStep
from shared.contracts import CaseAgreedV1, CaseAgreedV2
from shared.errors import Conflict


class AgreementStatus(StrEnum):
    sent = "sent"
    signed = "signed"


def draft_and_send(agreed: CaseAgreedV1 | CaseAgreedV2, now: datetime) -> Agreement:
    """Today's draft from either version of ``case.agreed`` (the fields both carry)."""
    return Agreement(
        id=uuid.uuid4(),
        case_id=agreed.case_id,
        bill_id=agreed.bill_id,
        client_id=agreed.client_id,
        provider_npi=agreed.provider.npi,
        provider_tin=agreed.provider.tin,
        provider_name=agreed.provider.name,
        billed=agreed.billed,
        agreed_amount=agreed.agreed_amount,
        status=AgreementStatus.sent.value,
        created_at=now,
        sent_at=now,
        steps=[
            AgreementStep(step="drafted", actor="parley", at=now),
            AgreementStep(step="sent", actor="parley", at=now),
        ],
    )


def sign(agreement: Agreement, signer_name: str, signer_title: str | None, now: datetime) -> None:
    if agreement.status == AgreementStatus.signed.value:
        raise Conflict(f"agreement {agreement.id} was already signed by {agreement.signer_name}")
    agreement.status = AgreementStatus.signed.value
    agreement.signed_at = now
    agreement.signer_name = signer_name
    agreement.signer_title = signer_title
    agreement.steps.append(AgreementStep(step="signed", actor=signer_name, at=now))
