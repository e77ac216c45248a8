"""Settlement authority over HTTP: request a supervisor's approval, decide it, list what waits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.negotiation import authority, events
from services.negotiation.api import act
from services.negotiation.authority import ApprovalStatus
from services.negotiation.cases import CaseStatus, log, require_active
from services.negotiation.client_settings import Settings
from services.negotiation.models import Case
from services.negotiation.repository import CaseRepository
from services.negotiation.roles import Reader, Supervisor, Worker
from services.negotiation.schemas import ApprovalIn, ApprovalList, ApprovalOut, CaseOut, DecisionIn
from services.negotiation.strategy import money
from shared.errors import NotFound
from shared.http import MAX_OFFSET
from shared.idempotency import IdempotencyKey
from shared.service import SessionDep, TxDep

router = APIRouter(tags=["approvals"])


@router.post(
    "/v1/cases/{case_id}/approvals",
    response_model=CaseOut,
    status_code=201,
    summary="Ask a supervisor to approve an amount beyond your authority",
    responses={
        409: {"description": "A request for this action is already pending."},
        422: {"description": "The amount is within authority, or above billed."},
    },
)
async def post_approval(
    case_id: uuid.UUID,
    body: ApprovalIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Request approval to ``offer`` or ``accept`` an amount beyond the negotiator's settlement authority,
    with the reason (``case.approval_requested``). The request names the rule it exceeds and the limit.
    Nothing beyond authority is sent or accepted until a supervisor approves. 201 with the case, the
    request last in ``approvals``. Roles: negotiator, supervisor."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        require_active(case, statuses=(CaseStatus.open.value,))
        limit = authority.negotiator_limit(settings.authority, case)
        approval = authority.request(case, body.action, body.amount, body.reason, limit, actor.subject, now)
        await tx.session.flush()
        log(
            tx.session,
            case,
            actor.subject,
            "approval_requested",
            f"{body.action.value} {money(body.amount)} beyond {money(limit.amount or body.amount)} "
            f"({limit.rule}): {body.reason}",
            now,
        )
        await tx.emit(events.approval_requested(case, approval), subject=str(case.bill_id))

    return await act(tx, request, actor, case_id, "approvals", body, idempotency_key, step, status=201)


@router.post(
    "/v1/cases/{case_id}/approvals/{approval_id}/decision",
    response_model=CaseOut,
    summary="Approve or deny a request",
    responses={
        409: {"description": "Already decided."},
        403: {"description": "Not a supervisor, or your own."},
    },
)
async def post_decision(
    case_id: uuid.UUID,
    approval_id: uuid.UUID,
    body: DecisionIn,
    request: Request,
    tx: TxDep,
    actor: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A supervisor approves or denies a pending request, with the reason (``case.approval_decided``).
    An approval lets the case's negotiator do that action once, at that amount or less. Role:
    supervisor (never on their own request)."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        approval = next((a for a in case.approvals if a.id == approval_id), None)
        if approval is None:
            raise NotFound(f"no approval {approval_id} on case {case_id}")
        authority.decide(approval, body.approve, body.reason, actor.subject, now)
        log(
            tx.session,
            case,
            actor.subject,
            "approval_decided",
            f"{approval.status} {approval.action} {money(approval.amount)}: {body.reason}",
            now,
        )
        await tx.emit(events.approval_decided(case, approval), subject=str(case.bill_id))

    return await act(
        tx, request, actor, case_id, f"approvals/{approval_id}/decision", body, idempotency_key, step
    )


@router.get("/v1/approvals", response_model=ApprovalList, summary="List approval requests")
async def list_approvals(
    session: SessionDep,
    actor: Reader,
    status: Annotated[
        ApprovalStatus | None, Query(description="e.g. pending: what waits for a decision.")
    ] = (ApprovalStatus.pending),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ApprovalList:
    """Requests oldest first (by default the pending ones: a supervisor's queue), of your clients.
    Roles: negotiator, supervisor, auditor, admin."""
    found = await CaseRepository(session).approvals(
        scope=actor.client_scope, status=status.value if status else None, limit=limit, offset=offset
    )
    return ApprovalList(items=[ApprovalOut.model_validate(a) for a in found])
