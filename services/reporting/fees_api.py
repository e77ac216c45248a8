"""Fee terms per client: what Parley charges on settled and repriced bills (see services.reporting.fees).

Roles: reading — supervisor, auditor, admin; adding terms — admin (audited). Only the caller's clients.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from services.reporting.api import SettingsDep
from services.reporting.models import idempotency_keys
from services.reporting.repository import add_fee_terms, list_fee_terms
from services.reporting.schemas import FeeTermsCreated, FeeTermsIn, FeeTermsList, FeeTermsOut
from shared.auth import Identity, Role, audit, requires
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/clients", tags=["fees"])
idempotency = Idempotency(idempotency_keys)
ClientId = Annotated[str, Path(min_length=1, max_length=200, description="The client's id.")]
FeeReader = Annotated[Identity, requires(Role.supervisor, Role.auditor, Role.admin)]
FeeWriter = Annotated[Identity, requires(Role.admin)]


def _mine(user: Identity, client_id: str) -> None:
    if not user.may_see(client_id):
        raise NotFound(f"no client {client_id} among yours")


@router.get("/{client_id}/fee-terms", response_model=FeeTermsList, summary="A client's fee terms")
async def get_fee_terms(client_id: ClientId, session: SessionDep, user: FeeReader) -> FeeTermsList:
    """Every fee terms record of the client, by effective date, including superseded ones (kept for
    the record; ``superseded_at`` says when). Roles: supervisor, auditor, admin — only their clients."""
    _mine(user, client_id)
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
    request: Request,
    tx: TxDep,
    settings: SettingsDep,
    user: FeeWriter,
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
    _mine(user, client_id)

    async def apply() -> tuple[int, FeeTermsCreated]:
        row, changed = await add_fee_terms(
            tx.session, client_id, body.terms(), note=body.note, created_by=user.subject, zone=settings.zone
        )
        detail = {
            "kind": body.kind.value,
            "effective_from": str(body.effective_from),
            "bills_reworked": changed,
        }
        await audit(tx, request, user, "create:fee_terms", "fee_terms", row.id, client_id, detail=detail)
        return 201, FeeTermsCreated(terms=FeeTermsOut.model_validate(row), bills_reworked=changed)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/clients/{client_id}/fee-terms",
        request_hash=fingerprint(body.model_dump_json()),
        action=apply,
    )
