"""Negotiation's case API: read cases, route, assign, close, start clocks, retry an agreement.

Offers, responses and confirmations are in offers_api.py, approvals in approvals_api.py, queues in
queues_api.py, the provider database in providers_api.py, client settings in clients_api.py. Every POST
takes an ``Idempotency-Key``; every change is recorded on the case and emitted as an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.negotiation import cases, clocks, confirmations
from services.negotiation.cases import CaseStatus
from services.negotiation.client_settings import Settings, settings_for
from services.negotiation.deadlines import eastern_day
from services.negotiation.models import Case, idempotency_keys
from services.negotiation.repository import CaseRepository, snapshot
from services.negotiation.roles import Reader, Supervisor, Worker
from services.negotiation.schemas import (
    AgreementIn,
    AssignIn,
    CaseDetail,
    CaseList,
    CaseOut,
    ClockIn,
    CloseIn,
    HistoryOut,
    RouteIn,
)
from shared.auth import Identity, Role, audit
from shared.contracts import CaseRoute
from shared.errors import Conflict, Forbidden, Unprocessable
from shared.http import MAX_OFFSET
from shared.idempotency import Idempotency, IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/cases", tags=["cases"])
idempotency = Idempotency(idempotency_keys)


Step = Callable[[Case, Settings, datetime], Awaitable[None]]
# The audit log's verb for each action on a case (POST /v1/cases/{id}/<what>).
AUDIT_ACTIONS = {
    "offers": "offer",
    "responses": "respond",
    "confirmations": "confirm",
    "approvals": "request_approval",
    "decision": "decide_approval",
    "route": "route",
    "assignment": "assign",
    "close": "close",
    "clocks": "clock",
    "agreement": "agree",
}


async def act(
    tx: TxDep,
    request: Request,
    actor: Identity,
    case_id: uuid.UUID,
    what: str,
    body: BaseModel,
    key: str | None,
    step: Step,
    *,
    status: int = 200,
) -> JSONResponse:
    """Run one change on a case in the request's transaction, once per Idempotency-Key, audited as
    ``<what>:case`` with the request body (amounts, reasons, provider contacts; never patient data);
    answer the case with ``status`` (201 when the change creates something: an offer, an approval
    request)."""

    async def apply() -> tuple[int, BaseModel]:
        case = await CaseRepository(tx.session).found(case_id, scope=actor.client_scope, for_update=True)
        settings = await settings_for(tx.session, case.client_id)
        await step(case, settings, datetime.now(UTC))
        await tx.session.flush()
        action = AUDIT_ACTIONS.get(what.rsplit("/", 1)[-1], what)
        await audit(tx, request, actor, f"{action}:case", "case", case.id, case.client_id,
                    detail=body.model_dump(mode="json"))  # fmt: skip
        return status, CaseOut.model_validate(case)

    return await idempotency.run(
        tx.session,
        key=key,
        scope=f"POST /v1/cases/{case_id}/{what}",
        request_hash=fingerprint(actor.subject, body.model_dump_json()),
        action=apply,
    )


@router.get("", response_model=CaseList, summary="List cases")
async def list_cases(
    session: SessionDep,
    actor: Reader,
    bill_id: Annotated[uuid.UUID | None, Query(description="Only the case of this bill.")] = None,
    status: Annotated[
        CaseStatus | None, Query(description="open, confirming, agreed, settled or closed.")
    ] = None,
    client_id: Annotated[str | None, Query(description="Only this client's cases.")] = None,
    route: Annotated[CaseRoute | None, Query(description="repriced, audit, negotiate or review.")] = None,
    provider_tin: Annotated[str | None, Query(description="Only this provider's cases.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Cases per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Cases to skip.")] = 0,
) -> CaseList:
    """Cases newest first, filtered. Roles: negotiator, supervisor, auditor, admin (their clients)."""
    await snapshot(session)
    found = await CaseRepository(session).search(
        scope=actor.client_scope,
        bill_id=bill_id,
        status=status.value if status else None,
        client_id=client_id,
        route=route.value if route else None,
        provider_tin=provider_tin,
        limit=limit,
        offset=offset,
    )
    return CaseList(items=[CaseOut.model_validate(c) for c in found])


@router.get("/{case_id}", response_model=CaseDetail, summary="Read a case")
async def get_case(case_id: uuid.UUID, session: SessionDep, actor: Reader) -> CaseDetail:
    """The case with its route and reason, pricing evidence, strategy opening, offers, approvals,
    confirmations, clocks and its whole history. Roles: negotiator, supervisor, auditor, admin.
    404 for a case of a client outside yours."""
    await snapshot(session)
    repository = CaseRepository(session)
    case = await repository.found(case_id, scope=actor.client_scope)
    history = [HistoryOut.model_validate(h) for h in await repository.history(case.id)]
    return CaseDetail(**dict(CaseOut.model_validate(case)), history=history)


@router.post("/{case_id}/route", response_model=CaseOut, summary="Re-route a case")
async def post_route(
    case_id: uuid.UUID,
    body: RouteIn,
    request: Request,
    tx: TxDep,
    actor: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move an open case to the audit, negotiate or review route, with the reason (``case.routed``).
    Role: supervisor. 409 when the case is not open or already on that route."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        await cases.reroute(tx, case, body.route, body.reason, actor.subject, settings, now)

    return await act(tx, request, actor, case_id, "route", body, idempotency_key, step)


@router.post("/{case_id}/assignment", response_model=CaseOut, summary="Take, return or assign a case")
async def post_assignment(
    case_id: uuid.UUID,
    body: AssignIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A negotiator takes an unassigned case (``assignee`` = their id) or returns their own (null); a
    supervisor assigns or reassigns anyone's. Each assignment is recorded (``case.assigned``).
    Roles: negotiator, supervisor."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        await cases.assign(
            tx, case, body.assignee, actor.subject, supervisor=actor.has(Role.supervisor), now=now
        )

    return await act(tx, request, actor, case_id, "assignment", body, idempotency_key, step)


@router.post("/{case_id}/close", response_model=CaseOut, summary="Close a case with an outcome")
async def post_close(
    case_id: uuid.UUID,
    body: CloseIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """End an open case as ``disputed``, ``escalated`` or ``closed_unresolved`` with the reason
    (``case.closed``); open offers are withdrawn. Roles: negotiator, supervisor."""
    if body.outcome not in cases.CLOSING_OUTCOMES:
        raise Unprocessable(
            f"{body.outcome.value} is not an outcome a person closes with",
            errors=[{"field": "outcome", "message": "use disputed, escalated or closed_unresolved",
                     "type": "invalid_outcome"}],
        )  # fmt: skip

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        await cases.close(tx, case, body.outcome, body.reason, actor.subject, settings, now)

    return await act(tx, request, actor, case_id, "close", body, idempotency_key, step)


@router.post("/{case_id}/clocks", response_model=CaseOut, summary="Start a case clock")
async def post_clock(
    case_id: uuid.UUID,
    body: ClockIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Start the No Surprises Act open-negotiation clock: 30 business days from the day the notice was
    sent (day 1), then 4 business days to initiate IDR; both dates on the US federal calendar. Its lapse
    flags the case and emits ``case.clock``. Roles: negotiator, supervisor."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        await clocks.start(tx, case, body.kind, body.started_on or eastern_day(now), actor.subject, now)

    return await act(tx, request, actor, case_id, "clocks", body, idempotency_key, step)


@router.post("/{case_id}/agreement", response_model=CaseOut, summary="Retry a blocked agreement")
async def post_agreement(
    case_id: uuid.UUID,
    body: AgreementIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Run the agreement again for a case whose both sides confirmed but whose agreement was blocked
    (``blocked_reason``): after the bill's details arrived, or, for a supervisor, despite a possible
    duplicate payment with ``duplicate_override`` naming why. Roles: negotiator, supervisor."""
    if body.duplicate_override is not None and not actor.has(Role.supervisor):
        raise Forbidden("only a supervisor may agree despite a possible duplicate payment")

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        cases.require_active(case, statuses=(CaseStatus.confirming.value,))
        if case.blocked_reason is None:
            raise Conflict("the agreement is not blocked: it waits for both sides to confirm")
        await confirmations.agree(
            tx, case, settings, by=actor.subject, now=now, override=body.duplicate_override
        )

    return await act(tx, request, actor, case_id, "agreement", body, idempotency_key, step)
