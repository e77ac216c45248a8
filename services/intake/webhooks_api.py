"""Intake's HTTP API for webhooks: register a URL, read the delivery log, ask for a delivery again."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import func, select

from services.intake.api import PROBLEM
from services.intake.auth import CurrentPartner
from services.intake.config import IntakeSettings
from services.intake.models import WebhookDelivery
from services.intake.repository import WebhookRepository
from services.intake.schemas import AttemptOut, DeliveryOut, DeliveryPage, WebhookIn, WebhookOut
from services.intake.webhooks import NOTIFY_CHANNEL, UnsafeUrl, check_url, new_secret
from shared.errors import NotFound, Unprocessable
from shared.http import is_cursor
from shared.service import RuntimeDep, SessionDep, TxDep

router = APIRouter(prefix="/v1/webhook", tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API key.", **PROBLEM},
    404: {"description": "Nothing registered, or no such delivery among yours.", **PROBLEM},
    422: {"description": "Invalid; `errors` names the field or parameter.", **PROBLEM},
}
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id (= the event id).")]


@router.put("", response_model=WebhookOut, summary="Register or change your webhook URL", responses=ERRORS)
async def put_webhook(body: WebhookIn, tx: TxDep, partner: CurrentPartner, runtime: RuntimeDep) -> WebhookOut:
    """Parley posts every change of a bill's status to this URL as JSON:

    `{"id": "<event id>", "type": "bill.status_changed", "created_at": …, "data": {<the bill summary>,
    "occurred_at": …}}` with headers `Parley-Event-Id`, `Parley-Event-Type`, `Parley-Delivery-Attempt`
    and `Parley-Signature: t=<unix seconds>,v1=<hex>` where `v1` is HMAC-SHA256 over
    `"<t>.<raw body>"` keyed with your secret. Verify it, reject old timestamps, and drop event ids you
    have already processed (an event may arrive more than once). Answer 2xx within 10 seconds; anything
    else is retried with backoff for about a day and a half. A bill's events arrive in order.

    The signing secret is returned when first issued (and on `rotate_secret`); store it.
    """
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings)
    allow_private = settings.webhooks_may_be_private
    try:
        await asyncio.to_thread(check_url, body.url, allow_private=allow_private)
    except UnsafeUrl as exc:
        raise Unprocessable(str(exc), errors=[{"field": "url", "message": str(exc), "type": "url"}]) from exc
    partner_row = await WebhookRepository(tx.session).partner(partner.subject)
    issued: str | None = None
    if partner_row.webhook_secret is None or body.rotate_secret:
        issued = new_secret()
        partner_row.webhook_secret = settings.secret_box.seal(issued)  # never stored in plain text
    partner_row.webhook_url = body.url
    partner_row.webhook_updated_at = datetime.now(UTC)
    await tx.session.flush()
    return WebhookOut(url=body.url, updated_at=partner_row.webhook_updated_at, secret=issued)


@router.get("", response_model=WebhookOut, summary="Your webhook registration", responses=ERRORS)
async def get_webhook(tx: TxDep, partner: CurrentPartner) -> WebhookOut:
    """The URL Parley posts to (the secret is not shown again)."""
    row = await WebhookRepository(tx.session).partner(partner.subject)
    if row.webhook_url is None or row.webhook_updated_at is None:
        raise NotFound("no webhook is registered")
    return WebhookOut(url=row.webhook_url, updated_at=row.webhook_updated_at)


@router.delete("", status_code=204, summary="Stop webhooks", responses=ERRORS)
async def delete_webhook(tx: TxDep, partner: CurrentPartner) -> Response:
    """No more deliveries are queued; pending ones are marked failed when they come due."""
    row = await WebhookRepository(tx.session).partner(partner.subject)
    row.webhook_url = None
    row.webhook_secret = None
    row.webhook_updated_at = datetime.now(UTC)
    return Response(status_code=204)


def _delivery_out(delivery: WebhookDelivery, *, with_attempts: bool) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        bill_id=delivery.bill_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        body=json.loads(delivery.body),
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in delivery.attempt_log]
        if with_attempts
        else None,
    )


@router.get("/deliveries", response_model=DeliveryPage, summary="The delivery log", responses=ERRORS)
async def list_deliveries(
    session: SessionDep,
    partner: CurrentPartner,
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(description="Only deliveries in this state.")
    ] = None,
    bill_id: Annotated[uuid.UUID | None, Query(description="Only this bill's deliveries.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Deliveries per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> DeliveryPage:
    """Every status change queued for your webhook, newest first, with its outcome so far."""
    before: int | None = None
    if cursor is not None:
        if not is_cursor(cursor):
            raise Unprocessable(
                "the cursor is not one this API returned",
                errors=[{"field": "query:cursor", "message": "unrecognised cursor", "type": "cursor"}],
            )
        before = int(cursor)
    rows = await WebhookRepository(session).deliveries(
        partner.subject, status=status, bill_id=bill_id, limit=limit + 1, before_seq=before
    )
    page = rows[:limit]
    return DeliveryPage(
        items=[_delivery_out(d, with_attempts=False) for d in page],
        next_cursor=str(page[-1].seq) if len(rows) > limit else None,
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, summary="One delivery", responses=ERRORS)
async def get_delivery(delivery_id: DeliveryId, session: SessionDep, partner: CurrentPartner) -> DeliveryOut:
    """A delivery with every attempt: when, your endpoint's status code or the error, how long it took."""
    delivery = await WebhookRepository(session).delivery(partner.subject, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return _delivery_out(delivery, with_attempts=True)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    summary="Send a delivery again",
    responses=ERRORS,
)
async def redeliver(delivery_id: DeliveryId, tx: TxDep, partner: CurrentPartner) -> DeliveryOut:
    """Queue a delivered or failed delivery again now (same event id), e.g. after fixing your endpoint."""
    repository = WebhookRepository(tx.session)
    delivery = await repository.delivery(partner.subject, delivery_id, for_update=True)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.status != "pending":
        delivery.status = "pending"
        delivery.next_attempt_at = datetime.now(UTC)
        delivery.lease_until = None
        await tx.session.flush()
        await tx.session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    return _delivery_out(delivery, with_attempts=True)
