"""Fee terms per client: what Parley charges on settled and repriced bills (see services.reporting.fees).

Roles (enforced once internal access lands): reading — supervisor, auditor, admin; adding terms — admin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from services.reporting.api import SettingsDep
from services.reporting.models import idempotency_keys
from services.reporting.repository import add_fee_terms, list_fee_terms
from services.reporting.schemas import FeeTermsCreated, FeeTermsIn, FeeTermsList, FeeTermsOut
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/clients", tags=["fees"])
idempotency = Idempotency(idempotency_keys)
ClientId = Annotated[str, Path(min_length=1, max_length=200, description="The client's id.")]


@router.get("/{client_id}/fee-terms", response_model=FeeTermsList, summary="A client's fee terms")
async def get_fee_terms(client_id: ClientId, session: SessionDep) -> FeeTermsList:
    """Every fee terms record of the client, by effective date, including superseded ones (kept for
    the record; ``superseded_at`` says when). Roles: supervisor, auditor, admin — only their clients."""
    rows = await list_fee_terms(session, client_id)
    return FeeTermsList(client_id=client_id, items=[FeeTermsOut.model_validate(r) for r in rows])


@router.post(
    "/{client_id}/fee-terms",
    status_code=201,
    response_model=FeeTermsCreated,
    summary="Set a client's fee terms from a date",
    responses={422: {"description": "Terms incomplete or contradictory (the field is named)."}},
)
async def post_fee_terms(
    client_id: ClientId,
    body: FeeTermsIn,
    tx: TxDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Fee terms for bills settled or repriced on or after ``effective_from``:

    - ``contingency``: ``percent`` of the bill's savings, at most ``cap`` dollars per bill; no savings,
      no fee (seed 003's example: 25 % capped at $1,000);
    - ``flat``: ``flat`` dollars per settled or repriced bill;
    - ``hybrid``: ``flat`` plus ``percent`` of the savings, at most ``cap`` in all.

    Terms with the same effective date as earlier ones supersede them. The fees of the client's bills
    already settled or repriced on or after the date are worked out again in the same transaction
    (``bills_reworked``). Role: admin."""

    async def apply() -> tuple[int, FeeTermsCreated]:
        row, changed = await add_fee_terms(
            tx.session, client_id, body.terms(), note=body.note, created_by="api", zone=settings.zone
        )
        return 201, FeeTermsCreated(terms=FeeTermsOut.model_validate(row), bills_reworked=changed)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/clients/{client_id}/fee-terms",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
