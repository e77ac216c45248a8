"""Pricing's HTTP API for negotiators: how a bill was priced, the statement to attach, re-pricing.

Reads are for case workers (negotiator, supervisor, auditor, admin) of the bill's client and are written
to the audit log; re-pricing is for supervisors and admins. A bill of another client is 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from services.pricing.config import PricingSettings
from services.pricing.models.base import idempotency_keys
from services.pricing.pricings import reprice
from services.pricing.repository import PricingRepository
from services.pricing.schemas import PricingHistoryOut, PricingOut, RepriceIn
from shared.auth import CASE_READERS, Identity, Role, audit, requires
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import RuntimeDep, TxDep

router = APIRouter(prefix="/v1/pricings", tags=["pricings"])
IDEMPOTENCY = Idempotency(idempotency_keys)
Reader = Annotated[Identity, requires(*CASE_READERS)]


@router.get(
    "/{bill_id}",
    response_model=PricingHistoryOut,
    summary="How a bill was priced",
    responses={404: {"description": "The bill has not been priced (yet), or is not of your clients."}},
)
async def get_pricing(bill_id: uuid.UUID, request: Request, tx: TxDep, user: Reader) -> PricingHistoryOut:
    """The latest pricing of the bill and every earlier revision: the method and each decision step,
    per-line amounts with their basis, the three U&C reviews with their evidence and median, and the
    audit findings. ``statement_sha256`` identifies the attachable statement of each revision. The read
    is written to the audit log."""
    revisions = await PricingRepository(tx.session).history(bill_id, user.client_scope)
    if not revisions:
        raise NotFound(f"bill {bill_id} has not been priced")
    latest = revisions[-1]
    await audit(tx, request, user, "read:pricing", "pricing", bill_id, latest.client_id)
    out = [PricingOut.model_validate(p) for p in revisions]
    return PricingHistoryOut(latest=out[-1], revisions=out)


@router.get(
    "/{bill_id}/revisions/{revision}/statement",
    response_class=PlainTextResponse,
    summary="The pricing statement to attach to an offer or agreement",
    responses={404: {"description": "No such pricing revision among your clients' bills."}},
)
async def get_statement(
    bill_id: uuid.UUID, revision: int, request: Request, tx: TxDep, user: Reader
) -> Response:
    """The statement exactly as stored when the bill was priced; its SHA-256 is in the pricing and in
    the ``bill.priced`` event (header ``X-Statement-SHA256``). The read is written to the audit log."""
    history = await PricingRepository(tx.session).history(bill_id, user.client_scope)
    found = next((p for p in history if p.revision == revision), None)
    if found is None:
        raise NotFound(f"bill {bill_id} has no pricing revision {revision}")
    await audit(
        tx,
        request,
        user,
        "read:statement",
        "pricing",
        bill_id,
        found.client_id,
        detail={"revision": revision},
    )
    return PlainTextResponse(found.statement, headers={"X-Statement-SHA256": found.statement_sha256})


@router.post(
    "/{bill_id}/reprice",
    status_code=201,
    response_model=PricingOut,
    summary="Price a bill again with the reference data loaded now",
    responses={404: {"description": "Pricing has never received this bill, or it is not of your clients."}},
)
async def post_reprice(
    bill_id: uuid.UUID,
    body: RepriceIn,
    request: Request,
    tx: TxDep,
    runtime: RuntimeDep,
    user: Annotated[Identity, requires(Role.supervisor, Role.admin)],
    key: IdempotencyKey = None,
) -> Response:
    """Adds a pricing revision (earlier ones are kept) and announces it as ``bill.priced``."""
    settings = cast(PricingSettings, runtime.settings)

    async def act() -> tuple[int, PricingOut]:
        known = await PricingRepository(tx.session).bill(bill_id)
        if known is None or not user.may_see(known.client_id):
            raise NotFound(f"pricing has never received bill {bill_id}")
        pricing = await reprice(tx, bill_id, settings, body.reason)
        if pricing is None:
            raise NotFound(f"pricing has never received bill {bill_id}")
        await audit(
            tx,
            request,
            user,
            "reprice:pricing",
            "pricing",
            bill_id,
            pricing.client_id,
            detail={"revision": pricing.revision, "reason": body.reason},
        )
        return 201, PricingOut.model_validate(pricing)

    return await IDEMPOTENCY.run(
        tx.session,
        key=key,
        scope=f"reprice:{bill_id}",
        request_hash=fingerprint(body.model_dump_json()),
        action=act,
    )
