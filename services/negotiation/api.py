"""Negotiation's HTTP API: read cases and record each side's response to the latest offer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.negotiation.cases import CaseStatus, Decision, respond
from services.negotiation.models import idempotency_keys
from services.negotiation.repository import CaseRepository
from services.negotiation.schemas import CaseList, CaseOut, ResponseIn
from shared.contracts import CaseAgreedV1, OfferMadeV1, Party, ProviderRef
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/cases", tags=["cases"])
idempotency = Idempotency(idempotency_keys)


@router.get("", response_model=CaseList, summary="List cases")
async def list_cases(
    session: SessionDep,
    bill_id: uuid.UUID | None = None,
    status: CaseStatus | None = None,
    client_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CaseList:
    cases = await CaseRepository(session).search(
        bill_id=bill_id,
        status=status.value if status else None,
        client_id=client_id,
        limit=limit,
        offset=offset,
    )
    return CaseList(items=[CaseOut.model_validate(c) for c in cases])


@router.get("/{case_id}", response_model=CaseOut, summary="Read a case with its offers")
async def get_case(case_id: uuid.UUID, session: SessionDep) -> CaseOut:
    case = await CaseRepository(session).get(case_id)
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
    case_id: uuid.UUID, body: ResponseIn, tx: TxDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """The side whose turn it is accepts the latest offer or counters it.

    When one side accepts the other's offer, both have accepted the same amount: the case is agreed
    and the settlement agreement is drafted and sent for signature.
    """

    async def apply() -> tuple[int, CaseOut]:
        case = await CaseRepository(tx.session).get(case_id, for_update=True)
        if case is None:
            raise NotFound(f"no case {case_id}")
        now = datetime.now(UTC)
        offer = respond(case, body.party, body.decision, body.amount, body.note, now)
        await tx.session.flush()
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
