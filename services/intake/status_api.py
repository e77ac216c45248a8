"""Intake's HTTP routes for following bills: a partner lists its bills and reads one, with its status.

A partner sees only its own bills, of its key's clients; anything else is 404, as if it did not exist.
Reading one bill returns its patient data and is written to the audit log in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from services.intake.api import AUTH_ERRORS, PROBLEM
from services.intake.auth import CurrentPartner, require_client
from services.intake.bill_reads import bill_out, bill_page
from services.intake.repository import BillFilter, BillRepository
from services.intake.schemas import BillOut, BillPage
from services.intake.status import BillStatus
from shared.auth import audit
from shared.errors import NotFound
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/bills", tags=["bills"])


@router.get(
    "",
    response_model=BillPage,
    summary="List your bills and where each stands",
    responses={**AUTH_ERRORS},
)
async def list_bills(
    session: SessionDep,
    partner: CurrentPartner,
    status: Annotated[list[BillStatus] | None, Query(description="Any of these statuses.")] = None,
    client_id: Annotated[str | None, Query(description="One of your key's clients.")] = None,
    partner_claim_id: Annotated[str | None, Query(description="Your claim number.")] = None,
    received_from: Annotated[date | None, Query(description="Received on or after this day (UTC).")] = None,
    received_to: Annotated[date | None, Query(description="Received on or before this day (UTC).")] = None,
    updated_since: Annotated[
        datetime | None, Query(description="Changed at or after this instant: poll with it.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Bills per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> BillPage:
    """Newest first, without lines or patient data (read one bill for those). Page with `next_cursor`."""
    if client_id is not None:
        require_client(partner, client_id)
    where = BillFilter(
        statuses=[s.value for s in status or []],
        client_id=client_id,
        partner_claim_id=partner_claim_id,
        received_from=received_from,
        received_to=received_to,
        updated_since=updated_since,
    )
    return await bill_page(
        BillRepository(session), partner.subject, partner.client_scope, where, limit=limit, cursor=cursor
    )


@router.get(
    "/{bill_id}",
    response_model=BillOut,
    summary="Read a bill, its status and its history",
    responses={**AUTH_ERRORS, 404: {"description": "No such bill among yours.", **PROBLEM}},
)
async def get_bill(
    request: Request,
    bill_id: Annotated[uuid.UUID, Path(description="Parley's bill id.")],
    tx: TxDep,
    partner: CurrentPartner,
) -> BillOut:
    """The bill as received (latest revision), its current status with the reason, every status change
    in the order it happened, and every revision. This read is written to the audit log (who, which
    bill, when), because it carries patient data."""
    repository = BillRepository(tx.session)
    bill = await repository.get_for_partner(bill_id, partner.subject, partner.client_scope)
    if bill is None:
        raise NotFound(f"no bill {bill_id}")
    await audit(tx, request, partner, "read:bill", "bill", bill.id, bill.client_id)
    return bill_out(bill)
