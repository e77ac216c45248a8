"""Intake's HTTP API: partners post bills and read their status."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.intake.bills import bill_out, receive_bill
from services.intake.models import idempotency_keys
from services.intake.repository import BillRepository
from services.intake.schemas import BillIn, BillOut
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/bills", tags=["bills"])
idempotency = Idempotency(idempotency_keys)

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post(
    "",
    status_code=201,
    response_model=BillOut,
    summary="Submit a bill",
    responses={
        409: {"description": "This client's claim number was already received.", **PROBLEM},
        413: {"description": "The body is larger than the configured limit.", **PROBLEM},
        422: {"description": "The bill is invalid; `errors` names each wrong field and why.", **PROBLEM},
    },
)
async def submit_bill(body: BillIn, tx: TxDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Store a bill and start its workflow (pricing, then negotiation where it saves money).

    The bill is validated as a whole before anything is stored: a 422 lists every problem and nothing is
    kept. Send an `Idempotency-Key` header to make retries safe: the same key with the same body returns
    the first answer (with `Idempotent-Replayed: true`) instead of creating a second bill.
    """

    async def create() -> tuple[int, BillOut]:
        return 201, bill_out(await receive_bill(tx, body))

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope="POST /v1/bills",
        request_hash=fingerprint(body.model_dump_json()),
        action=create,
    )


@router.get(
    "/{bill_id}",
    response_model=BillOut,
    summary="Read a bill and its status",
    responses={404: {"description": "No such bill.", **PROBLEM}},
)
async def get_bill(bill_id: uuid.UUID, session: SessionDep) -> BillOut:
    """The bill as received, its current status (with the reason) and every status change so far."""
    bill = await BillRepository(session).get_with_details(bill_id)
    if bill is None:
        raise NotFound(f"no bill {bill_id}")
    return bill_out(bill)
