"""Intake's internal routes: Parley's own staff read bills (any partner's) of the clients they serve.

Partner routes (``/v1/bills``) take a partner key; these take a user's token, OIDC JWT or session
(:func:`shared.auth.requires`). A bill of a client the user does not serve is 404, like one that does not
exist. Reading one bill returns its patient data and is written to the audit log in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from services.intake.bill_reads import bill_out, bill_page
from services.intake.repository import BillFilter, BillRepository
from services.intake.schemas import BillOut, BillPage
from services.intake.status import BillStatus
from shared.auth import CASE_READERS, Identity, audit, requires
from shared.errors import NotFound
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/internal/bills", tags=["bills (staff)"])
Staff = Annotated[Identity, requires(*CASE_READERS)]


@router.get("", response_model=BillPage, summary="Bills of your clients, for staff")
async def list_bills(
    session: SessionDep,
    user: Staff,
    status: Annotated[list[BillStatus] | None, Query(description="Any of these statuses.")] = None,
    client_id: Annotated[str | None, Query(description="One of your clients.")] = None,
    partner_id: Annotated[str | None, Query(description="Only bills this partner sent.")] = None,
    partner_claim_id: Annotated[str | None, Query(description="The partner's claim number.")] = None,
    received_from: Annotated[date | None, Query(description="Received on or after this day (UTC).")] = None,
    received_to: Annotated[date | None, Query(description="Received on or before this day (UTC).")] = None,
    updated_since: Annotated[datetime | None, Query(description="Changed at or after this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Bills per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> BillPage:
    """Newest first, every partner's, without lines or patient data (read one bill for those). Only your
    clients' bills are listed: a `client_id` you do not serve lists nothing."""
    where = BillFilter(
        statuses=[s.value for s in status or []],
        client_id=client_id,
        partner_claim_id=partner_claim_id,
        received_from=received_from,
        received_to=received_to,
        updated_since=updated_since,
    )
    return await bill_page(
        BillRepository(session), partner_id, user.client_scope, where, limit=limit, cursor=cursor
    )


@router.get(
    "/{bill_id}",
    response_model=BillOut,
    summary="Read a bill with its patient data, for staff (audited)",
    responses={404: {"description": "No such bill among your clients'."}},
)
async def get_bill(
    request: Request,
    bill_id: Annotated[uuid.UUID, Path(description="Parley's bill id.")],
    tx: TxDep,
    user: Staff,
) -> BillOut:
    """The bill as received, its status and history, and the patient's name, birth date and member id.
    The read is written to the audit log (who, which bill, client, when, from where)."""
    bill = await BillRepository(tx.session).get_for_partner(bill_id, None, user.client_scope)
    if bill is None:
        raise NotFound(f"no bill {bill_id}")
    await audit(tx, request, user, "read:bill", "bill", bill.id, bill.client_id)
    return bill_out(bill)
