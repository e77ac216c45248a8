"""Negotiation's HTTP API: read cases and record each side's response to the latest offer.

Case workers (negotiator, supervisor, auditor, admin) read the cases of their clients; negotiators and
supervisors record responses (audited). A case of another client is 404.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.negotiation.cases import CaseStatus, Decision, respond
from services.negotiation.models import idempotency_keys
from services.negotiation.repository import CaseRepository
from services.negotiation.schemas import CaseList, CaseOut, ResponseIn
from shared.auth import CASE_READERS, Identity, Role, audit, requires
from shared.contracts import CaseAgreedV1, OfferMadeV1, Party, ProviderRef
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/cases", tags=["cases"])
idempotency = Idempotency(idempotency_keys)
Reader = Annotated[Identity, requires(*CASE_READERS)]
# Issue 8 rebuilds the responses; its routes declare their roles the same way.
CaseWorker = Annotated[Identity, requires(Role.negotiator, Role.supervisor)]


@router.get("", response_model=CaseList, summary="List cases")
async def list_cases(
    session: SessionDep,
    user: Reader,
    bill_id: Annotated[uuid.UUID | None, Query(description="Only the case of this bill.")] = None,
    status: Annotated[CaseStatus | None, Query(description="Only cases in this status.")] = None,
    client_id: Annotated[str | None, Query(description="Only this client's cases.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Cases per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Cases to skip.")] = 0,
) -> CaseList:
    """Newest first, only of your clients, each with its offers."""
    cases = await CaseRepository(session).search(
        bill_id=bill_id,
        status=status.value if status else None,
        client_id=client_id,
        limit=limit,
        offset=offset,
        clients=user.client_scope,
    )
    return CaseList(items=[CaseOut.model_validate(c) for c in cases])


@router.get("/{case_id}", response_model=CaseOut, summary="Read a case with its offers")
async def get_case(case_id: uuid.UUID, session: SessionDep, user: Reader) -> CaseOut:
    """The case with its offers, in order."""
    case = await CaseRepository(session).get(case_id, clients=user.client_scope)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return CaseOut.model_validate(case)


@router.post(
    "/{case_id}/responses",
    response_model=CaseOut,
    summary="Record a response to the latest offer",
    responses={404: {"description": "No such case."}, 409: {"description": "The case is no longer open."}},
)
async def post_response(
    case_id: uuid.UUID,
    body: ResponseIn,
    request: Request,
    tx: TxDep,
    user: CaseWorker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The side whose turn it is accepts the latest offer or counters it.

    When one side accepts the other's offer, both have accepted the same amount: the case is agreed
    and the settlement agreement is drafted and sent for signature.
    """

    async def apply() -> tuple[int, CaseOut]:
        case = await CaseRepository(tx.session).get(case_id, for_update=True, clients=user.client_scope)
        if case is None:
            raise NotFound(f"no case {case_id}")
        now = datetime.now(UTC)
        offer = respond(case, body.party, body.decision, body.amount, body.note, now)
        await tx.session.flush()
        await audit(
            tx,
            request,
            user,
            "respond:case",
            "case",
            case.id,
            case.client_id,
            detail={"party": body.party, "decision": body.decision, "amount": str(offer.amount)},
        )
        subject = str(case.bill_id)
        if body.decision is Decision.accept:
            assert case.agreed_amount is not None
            await tx.emit(
                CaseAgreedV1(
                    case_id=case.id,
                    bill_id=case.bill_id,
                    client_id=case.client_id,
                    provider=ProviderRef(
                        npi=case.provider_npi, tin=case.provider_tin, name=case.provider_name
                    ),
                    billed=case.billed,
                    agreed_amount=case.agreed_amount,
                    offer_id=offer.id,
                    agreed_at=now,
                ),
                subject=subject,
            )
        else:
            await tx.emit(
                OfferMadeV1(
                    case_id=case.id,
                    bill_id=case.bill_id,
                    offer_id=offer.id,
                    party=Party(offer.party),
                    amount=offer.amount,
                    made_at=now,
                ),
                subject=subject,
            )
        return 200, CaseOut.model_validate(case)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/cases/{case_id}/responses",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
