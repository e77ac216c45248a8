"""Per-client negotiation settings over HTTP (set by an admin; defaults in client_settings.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.negotiation import client_settings
from services.negotiation.client_settings import Settings
from services.negotiation.roles import Admin, Reader
from shared.auth import audit
from shared.errors import NotFound
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/clients", tags=["client settings"])


class ClientSettingsOut(BaseModel):
    client_id: str
    settings: Settings = Field(description="In effect: the client's own values, defaults for the rest.")
    overrides: dict[str, Any] = Field(description="What an admin set for this client.")
    defaults: Settings = Field(description="Parley's defaults (see the README for why each).")
    updated_by: str | None
    updated_at: datetime | None


async def _out(session: Any, client_id: str) -> ClientSettingsOut:
    overrides, row = await client_settings.stored_overrides(session, client_id)
    return ClientSettingsOut(
        client_id=client_id,
        settings=Settings.model_validate(overrides),
        overrides=overrides,
        defaults=client_settings.DEFAULTS,
        updated_by=row.updated_by if row else None,
        updated_at=row.updated_at if row else None,
    )


@router.get("/{client_id}/settings", response_model=ClientSettingsOut, summary="A client's settings")
async def get_settings(client_id: str, session: SessionDep, actor: Reader) -> ClientSettingsOut:
    """The routing threshold, strategy limits, settlement authority, quick-pay tiers, offer validity,
    follow-ups, automatic-offer ceiling, payment terms and payer countersigner in effect for a client.
    Roles: negotiator, supervisor, auditor, admin (their clients)."""
    if not actor.may_see(client_id):
        raise NotFound(f"no client {client_id}")
    return await _out(session, client_id)


@router.put("/{client_id}/settings", response_model=ClientSettingsOut, summary="Set a client's settings")
async def put_settings(
    client_id: str, body: Settings, request: Request, tx: TxDep, actor: Admin
) -> ClientSettingsOut:
    """Replace the client's settings: fields left out take the defaults. Takes effect for the next
    decision (routing of the next pricing, the next offer, the next authority check); offers already
    out keep their terms. 422 names any field that is wrong. Role: admin."""
    if not actor.may_see(client_id):
        raise NotFound(f"no client {client_id}")
    overrides = body.model_dump(mode="json", exclude_unset=True)
    await client_settings.save(tx.session, client_id, overrides, actor.subject)
    await audit(
        tx, request, actor, "update:client_settings", "client", client_id, client_id, detail=overrides
    )
    await tx.session.flush()
    out = await _out(tx.session, client_id)
    return out.model_copy(update={"updated_at": out.updated_at or datetime.now(UTC)})
