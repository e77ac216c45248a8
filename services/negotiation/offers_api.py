"""Offers, responses, confirmations and provider links on a case."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.negotiation import confirmations, offer_links, offers
from services.negotiation.api import act, idempotency
from services.negotiation.client_settings import Settings
from services.negotiation.config import NegotiationSettings
from services.negotiation.models import Case
from services.negotiation.offers import Decision
from services.negotiation.repository import CaseRepository
from services.negotiation.roles import Worker
from services.negotiation.schemas import CaseOut, ConfirmationIn, OfferIn, OfferLink, ResponseIn
from shared.auth import Role
from shared.contracts import Party
from shared.idempotency import REPLAYED_HEADER, IdempotencyKey, fingerprint
from shared.service import TxDep, runtime_of

router = APIRouter(prefix="/v1/cases", tags=["offers"])


@router.post(
    "/{case_id}/offers",
    response_model=CaseOut,
    status_code=201,
    summary="Send a payer offer",
    responses={
        403: {"description": "Beyond your settlement authority: the detail names the rule and limit."},
        409: {"description": "The case is not open, or is in review."},
        422: {"description": "Above billed, not below the provider's counter, or no strategy amount."},
    },
)
async def post_offer(
    case_id: uuid.UUID,
    body: OfferIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Send the payer's offer: the strategy's opening (no amount) or the amount named, with its basis,
    the pricing statement hash, the client's quick-pay tier and an expiry in business days. It
    supersedes the payer's previous open offer and counters the provider's open one. Beyond the
    negotiator's authority it is refused (403) unless a supervisor approved that amount. 201 with the
    case, the new offer last in ``offers``.
    Roles: negotiator, supervisor (a supervisor is not bound by negotiator authority)."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        await offers.make_payer_offer(
            tx, case, settings, amount=body.amount, note=body.note, quick_pay=body.quick_pay,
            by=actor.subject, supervisor=actor.has(Role.supervisor), now=now,
        )  # fmt: skip

    return await act(tx, request, actor, case_id, "offers", body, idempotency_key, step, status=201)


@router.post(
    "/{case_id}/responses",
    response_model=CaseOut,
    summary="Record an answer to the open offer",
    responses={
        403: {"description": "A payer acceptance beyond your settlement authority."},
        409: {"description": "No open offer of the other side, or the case is not open."},
        410: {"description": "The offer being answered has expired."},
    },
)
async def post_response(
    case_id: uuid.UUID,
    body: ResponseIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record the provider's answer to the payer's open offer (from a call or letter: name the
    ``contact``), or the payer's answer to the provider's counter. Accepting is agreement in principle:
    the case then waits for both sides to confirm the terms (POST …/confirmations). A payer acceptance
    is bound by settlement authority. Roles: negotiator, supervisor."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        by = (
            actor.subject
            if body.party is Party.payer
            else (body.contact or f"provider (via {actor.subject})")
        )
        if body.decision is Decision.accept:
            await offers.accept(
                tx, case, body.party, settings, by=by, supervisor=actor.has(Role.supervisor), now=now
            )
        elif body.decision is Decision.counter:
            assert body.amount is not None
            await offers.counter(tx, case, body.amount, body.note, settings, by=by, now=now)
        else:
            await offers.decline(tx, case, body.party, body.reason or "", settings, by=by, now=now)

    return await act(tx, request, actor, case_id, "responses", body, idempotency_key, step)


@router.post(
    "/{case_id}/confirmations",
    response_model=CaseOut,
    summary="Confirm the agreed terms for one side",
    responses={409: {"description": "No terms to confirm, or this side already confirmed them."}},
)
async def post_confirmation(
    case_id: uuid.UUID,
    body: ConfirmationIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record that the provider (name the ``contact`` who confirmed; added to the provider's contacts if
    new) or the payer side confirmed the accepted terms. When both have, the duplicate-payment check runs
    and the case is agreed (``case.agreed``), or ``blocked_reason`` says why not. Roles: negotiator,
    supervisor."""

    async def step(case: Case, settings: Settings, now: datetime) -> None:
        who = body.contact or ("" if body.party is Party.provider else actor.subject)
        await confirmations.confirm(
            tx, case, body.party, settings, confirmed_by=who, title=body.title, email=body.email,
            via="recorded", recorded_by=actor.subject, now=now,
        )  # fmt: skip

    return await act(tx, request, actor, case_id, "confirmations", body, idempotency_key, step)


@router.post(
    "/{case_id}/offers/{offer_id}/link",
    response_model=OfferLink,
    status_code=201,
    summary="Issue the provider's link to a payer offer",
    responses={409: {"description": "Not an open payer offer."}, 404: {"description": "No such offer."}},
)
async def post_link(
    case_id: uuid.UUID,
    offer_id: uuid.UUID,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A link for the provider to the offer page: an unguessable token (256 bits) of which only the
    SHA-256 is kept, expiring with the offer. Issuing a new link replaces the old one. The URL is shown
    in this answer only (an idempotent replay does not show it again: issue a new link). Roles:
    negotiator, supervisor."""
    issued: dict[str, str] = {}

    async def apply() -> tuple[int, BaseModel]:
        case = await CaseRepository(tx.session).found(case_id, scope=actor.client_scope, for_update=True)
        token, offer = offer_links.issue_link(tx.session, case, offer_id, actor.subject, datetime.now(UTC))
        settings = runtime_of(request).settings
        public = settings.negotiation_public_url if isinstance(settings, NegotiationSettings) else None
        issued["url"] = f"{(public or str(request.base_url)).rstrip('/')}/offers/{token}"
        # What an idempotent replay answers: never the token, which is kept only as its hash.
        return 201, OfferLink(
            url="(issued earlier; shown once: issue a new link)", expires_at=offer.expires_at
        )

    response = await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/cases/{case_id}/offers/{offer_id}/link",
        request_hash=fingerprint(actor.subject),
        action=apply,
    )
    if "url" not in issued:
        return response
    body = json.loads(bytes(response.body))
    return JSONResponse({**body, "url": issued["url"]}, status_code=201, headers={REPLAYED_HEADER: "false"})
