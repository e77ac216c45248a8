"""Agreements' HTTP API: read agreements and record the provider's signature.

Case workers (negotiator, supervisor, auditor, admin) read the agreements of their clients. Recording a
signature is for supervisors and admins until issue 9 replaces it with the provider's signing link; it
is audited. An agreement of another client is 404.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.agreements.documents import AgreementStatus, sign
from services.agreements.models import idempotency_keys
from services.agreements.repository import AgreementRepository
from services.agreements.schemas import AgreementList, AgreementOut, SignatureIn
from shared.auth import CASE_READERS, Identity, Role, audit, requires
from shared.contracts import AgreementSignedV1
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])
idempotency = Idempotency(idempotency_keys)
Reader = Annotated[Identity, requires(*CASE_READERS)]


@router.get("", response_model=AgreementList, summary="List agreements")
async def list_agreements(
    session: SessionDep,
    user: Reader,
    bill_id: Annotated[uuid.UUID | None, Query(description="Only the agreement of this bill.")] = None,
    case_id: Annotated[uuid.UUID | None, Query(description="Only the agreement of this case.")] = None,
    status: Annotated[AgreementStatus | None, Query(description="Only agreements in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Agreements per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Agreements to skip.")] = 0,
) -> AgreementList:
    """Newest first, only of your clients, each with its steps."""
    found = await AgreementRepository(session).search(
        bill_id=bill_id,
        case_id=case_id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
        clients=user.client_scope,
    )
    return AgreementList(items=[AgreementOut.model_validate(a) for a in found])


@router.get("/{agreement_id}", response_model=AgreementOut, summary="Read an agreement")
async def get_agreement(agreement_id: uuid.UUID, session: SessionDep, user: Reader) -> AgreementOut:
    """The agreement's terms and each step (drafted, sent, signed) with its time and actor."""
    agreement = await AgreementRepository(session).get(agreement_id, clients=user.client_scope)
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id}")
    return AgreementOut.model_validate(agreement)


@router.post(
    "/{agreement_id}/signature",
    response_model=AgreementOut,
    summary="Record the provider's signature",
    responses={404: {"description": "No such agreement."}, 409: {"description": "Already signed."}},
)
async def post_signature(
    agreement_id: uuid.UUID,
    body: SignatureIn,
    request: Request,
    tx: TxDep,
    user: Annotated[Identity, requires(Role.supervisor, Role.admin)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark the agreement signed by the provider; the negotiation case then closes as settled."""

    async def apply() -> tuple[int, AgreementOut]:
        agreement = await AgreementRepository(tx.session).get(
            agreement_id, for_update=True, clients=user.client_scope
        )
        if agreement is None:
            raise NotFound(f"no agreement {agreement_id}")
        now = datetime.now(UTC)
        sign(agreement, body.signer_name, body.signer_title, now)
        await tx.session.flush()
        await audit(
            tx,
            request,
            user,
            "sign:agreement",
            "agreement",
            agreement.id,
            agreement.client_id,
            detail={"case_id": str(agreement.case_id), "agreed_amount": str(agreement.agreed_amount)},
        )
        await tx.emit(
            AgreementSignedV1(
                agreement_id=agreement.id,
                case_id=agreement.case_id,
                bill_id=agreement.bill_id,
                agreed_amount=agreement.agreed_amount,
                signer_name=body.signer_name,
                signed_at=now,
            ),
            subject=str(agreement.bill_id),
        )
        return 200, AgreementOut.model_validate(agreement)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/agreements/{agreement_id}/signature",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
