"""The provider database over HTTP: a provider by TIN with its history; contacts and notes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation import providers
from services.negotiation.api import idempotency
from services.negotiation.models import (
    Provider,
    ProviderContact,
    ProviderNote,
    ProviderNpi,
    ProviderPayment,
    ProviderPrice,
)
from services.negotiation.repository import snapshot
from services.negotiation.roles import Reader, Worker
from shared.auth import Identity, audit
from shared.errors import NotFound
from shared.http import MAX_OFFSET
from shared.idempotency import IdempotencyKey, fingerprint
from shared.service import SessionDep, TxDep

router = APIRouter(prefix="/v1/providers", tags=["providers"])


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NpiOut(_Row):
    npi: str
    kind: str = Field(description="'billing' (bills under the TIN) or 'facility' (where it treated).")
    name: str | None
    state: str | None
    zip: str | None
    last_seen_at: datetime


class ContactOut(_Row):
    id: uuid.UUID
    name: str
    role: str | None
    phone: str | None
    email: str | None
    active: bool
    updated_by: str
    updated_at: datetime


class NoteOut(_Row):
    id: uuid.UUID
    case_id: uuid.UUID | None
    author: str
    at: datetime
    text: str


class PaymentOut(_Row):
    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    billed: Decimal
    target: Decimal | None = Field(description="U&C target plus unpriced lines at billed.")
    amount: Decimal = Field(description="The accepted payment, dollars.")
    share_of_billed: Decimal = Field(description="Fraction: 0.5200 is 52 %.")
    share_of_target: Decimal | None
    days_to_agree: int = Field(description="Calendar days from the case opening to agreement.")
    quick_pay_taken: bool
    first_offer_accepted: bool
    agreed_at: datetime
    settled_at: datetime | None


class CodeOut(BaseModel):
    code: str
    lines: int = Field(description="Priced lines seen with this code.")
    median_billed: Decimal
    median_uc_target: Decimal | None = Field(description="Median of the lines' U&C targets.")
    last_priced_at: datetime


class SummaryOut(BaseModel):
    cases: int
    cases_open: int
    cases_agreed: int
    payer_offers_resolved: int = Field(description="Payer offers accepted, countered, declined or expired.")
    payer_offers_accepted: int
    acceptance_rate: Decimal | None = Field(description="% of resolved payer offers the provider accepted.")
    median_share_of_billed: Decimal | None = Field(description="% of billed, over accepted payments.")
    median_share_of_target: Decimal | None = Field(description="% of the U&C target.")
    median_days_to_agree: Decimal | None
    quick_pay_rate: Decimal | None = Field(description="% of accepted payments with quick-pay terms.")


class ProviderOut(BaseModel):
    tin: str
    name: str | None
    address: dict[str, Any] | None
    first_seen_at: datetime
    npis: list[NpiOut]
    contacts: list[ContactOut]
    notes: list[NoteOut] = Field(description="Newest first.")
    codes: list[CodeOut] = Field(description="Charges and U&C targets seen, per code.")
    payments: list[PaymentOut] = Field(description="Accepted payments of your clients, newest first.")
    summary: SummaryOut


class ProviderListItem(_Row):
    tin: str
    name: str | None
    last_seen_at: datetime


class ProviderList(BaseModel):
    items: list[ProviderListItem]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=200, description="e.g. business office manager.")
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    active: bool = True


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=10000,
        description="About the provider and the negotiation; read by every client's case workers, so "
        "never patient details or a client's confidential terms.",
    )
    case_id: uuid.UUID | None = Field(default=None, description="The case the note is about, if any.")


async def _provider(session: AsyncSession, tin: str) -> Provider:
    provider = await session.get(Provider, tin)
    if provider is None:
        raise NotFound(f"no provider with TIN {tin}")
    return provider


async def _codes(session: AsyncSession, tin: str) -> list[CodeOut]:
    median = func.percentile_cont(0.5).within_group
    rows = await session.execute(
        select(
            ProviderPrice.code,
            func.count(),
            median(ProviderPrice.billed).label("median_billed"),
            median(ProviderPrice.uc_target).label("median_uc_target"),
            func.max(ProviderPrice.priced_at),
        )
        .where(ProviderPrice.tin == tin)
        .group_by(ProviderPrice.code)
        .order_by(ProviderPrice.code)
    )
    cents = Decimal("0.01")
    return [
        CodeOut(
            code=code,
            lines=n,
            median_billed=Decimal(str(billed)).quantize(cents),
            median_uc_target=None if target is None else Decimal(str(target)).quantize(cents),
            last_priced_at=last,
        )
        for code, n, billed, target, last in rows
    ]


async def _read(session: AsyncSession, tin: str, actor: Identity) -> ProviderOut:
    provider = await _provider(session, tin)
    npis = (
        await session.execute(select(ProviderNpi).where(ProviderNpi.tin == tin).order_by(ProviderNpi.npi))
    ).scalars()
    contacts = (
        await session.execute(
            select(ProviderContact).where(ProviderContact.tin == tin).order_by(ProviderContact.name)
        )
    ).scalars()
    notes = (
        await session.execute(
            select(ProviderNote).where(ProviderNote.tin == tin).order_by(ProviderNote.at.desc())
        )
    ).scalars()
    stmt = (
        select(ProviderPayment).where(ProviderPayment.tin == tin).order_by(ProviderPayment.agreed_at.desc())
    )
    if actor.client_scope is not None:
        stmt = stmt.where(ProviderPayment.client_id.in_(actor.client_scope))
    payments = list((await session.execute(stmt)).scalars())
    summary = await providers.summary(session, tin, payments, actor.client_scope)
    return ProviderOut(
        tin=provider.tin,
        name=provider.name,
        address=provider.address,
        first_seen_at=provider.first_seen_at,
        npis=[NpiOut.model_validate(n) for n in npis],
        contacts=[ContactOut.model_validate(c) for c in contacts],
        notes=[NoteOut.model_validate(n) for n in notes],
        codes=await _codes(session, tin),
        payments=[PaymentOut.model_validate(p) for p in payments],
        summary=SummaryOut(**vars(summary)),
    )


@router.get("", response_model=ProviderList, summary="Find providers")
async def list_providers(
    session: SessionDep,
    actor: Reader,
    name: Annotated[str | None, Query(description="Part of the provider's name.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ProviderList:
    """Providers seen on bills, most recently seen first. Roles: negotiator, supervisor, auditor, admin."""
    stmt = select(Provider).order_by(Provider.last_seen_at.desc(), Provider.tin).limit(limit).offset(offset)
    if name:
        stmt = stmt.where(Provider.name.ilike(f"%{name}%"))
    return ProviderList(
        items=[ProviderListItem.model_validate(p) for p in (await session.execute(stmt)).scalars()]
    )


@router.get("/{tin}", response_model=ProviderOut, summary="A provider and its history")
async def get_provider(tin: str, session: SessionDep, actor: Reader) -> ProviderOut:
    """Everything Parley knows of a provider by TIN: NPIs and facilities, contacts, notes, charges and
    U&C targets seen per code, accepted payments and summary figures (cases, acceptance rate, median
    accepted share of billed and of the U&C target, days to agree, quick-pay uptake). Contacts and notes
    are the company's shared knowledge of the provider, the same for every reader whatever clients they
    serve; payments and the figures cover your clients only. Roles: negotiator, supervisor, auditor,
    admin."""
    await snapshot(session)
    return await _read(session, tin, actor)


@router.post("/{tin}/contacts", response_model=ProviderOut, status_code=201, summary="Add a contact")
async def post_contact(
    tin: str,
    body: ContactIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a person at the provider (name, role, phone, email): shared with every case reader, whatever
    clients they serve. Roles: negotiator, supervisor."""

    async def apply() -> tuple[int, BaseModel]:
        await _provider(tx.session, tin)
        now = datetime.now(UTC)
        tx.session.add(
            ProviderContact(
                id=uuid.uuid4(),
                tin=tin,
                **body.model_dump(),
                created_by=actor.subject,
                created_at=now,
                updated_by=actor.subject,
                updated_at=now,
            )
        )
        await tx.session.flush()
        detail = body.model_dump()
        await audit(tx, request, actor, "create:provider_contact", "provider", tin, None, detail=detail)
        return 201, await _read(tx.session, tin, actor)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/providers/{tin}/contacts",
        request_hash=fingerprint(actor.subject, body.model_dump_json()),
        action=apply,
    )


@router.put("/{tin}/contacts/{contact_id}", response_model=ProviderOut, summary="Change a contact")
async def put_contact(
    tin: str, contact_id: uuid.UUID, body: ContactIn, request: Request, tx: TxDep, actor: Worker
) -> ProviderOut:
    """Replace a contact's details (``active: false`` keeps the person on record as no longer there).
    Roles: negotiator, supervisor."""
    contact = await tx.session.get(ProviderContact, contact_id, with_for_update=True)
    if contact is None or contact.tin != tin:
        raise NotFound(f"no contact {contact_id} at provider {tin}")
    for field, value in body.model_dump().items():
        setattr(contact, field, value)
    contact.updated_by, contact.updated_at = actor.subject, datetime.now(UTC)
    await tx.session.flush()
    detail = body.model_dump()
    await audit(tx, request, actor, "update:provider_contact", "provider", tin, None, detail=detail)
    return await _read(tx.session, tin, actor)


@router.post("/{tin}/notes", response_model=ProviderOut, status_code=201, summary="Add a note")
async def post_note(
    tin: str,
    body: NoteIn,
    request: Request,
    tx: TxDep,
    actor: Worker,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A note on a negotiation with this provider (who and when are recorded; notes are never edited).
    Notes are shared across clients (every case reader sees them, whatever clients they serve): never
    write patient details (names, birth dates, member ids, diagnoses) or a client's confidential terms in
    one; refer to a case by ``case_id``. Roles: negotiator, supervisor."""

    async def apply() -> tuple[int, BaseModel]:
        await _provider(tx.session, tin)
        await providers.note(tx.session, tin, body.text, actor.subject, datetime.now(UTC), body.case_id)
        await audit(tx, request, actor, "create:provider_note", "provider", tin, None)
        return 201, await _read(tx.session, tin, actor)

    return await idempotency.run(
        tx.session,
        key=idempotency_key,
        scope=f"POST /v1/providers/{tin}/notes",
        request_hash=fingerprint(actor.subject, body.model_dump_json()),
        action=apply,
    )
