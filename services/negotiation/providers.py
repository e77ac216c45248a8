"""The provider database (seed 000's in-house database), keyed by TIN.

Built from events and the API, nothing typed twice:
- ``bill.received``: the provider's name and address, the NPIs billing under the TIN and the facilities
  where it treated;
- ``bill.priced``: per priced line, the code, billed charge, U&C target (the median of the three reviews)
  and what the bill's method allowed;
- the case: every payment the provider accepted (amount, share of billed, share of the U&C target, days
  from the case opening to agreement, whether quick-pay was part of the terms), written when both sides
  confirmed and withdrawn if the case reopens;
- the API: contacts and personnel, and notes on negotiations, edited by negotiators.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.models import (
    Case,
    Offer,
    Provider,
    ProviderContact,
    ProviderNote,
    ProviderNpi,
    ProviderPayment,
    ProviderPrice,
)
from services.negotiation.strategy import PastPayment
from shared.contracts import BillPricedV2, BillReceivedV1, PricingMethod, ProviderRef

SHARE = Decimal("0.0001")


async def observe_provider(session: AsyncSession, provider: ProviderRef, at: datetime) -> None:
    address = provider.address.model_dump() if provider.address else None
    stmt = pg_insert(Provider).values(
        tin=provider.tin, name=provider.name, address=address, first_seen_at=at, last_seen_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Provider.tin],
        set_={
            "name": func.coalesce(stmt.excluded.name, Provider.name),
            "address": func.coalesce(stmt.excluded.address, Provider.address),
            "last_seen_at": func.greatest(Provider.last_seen_at, stmt.excluded.last_seen_at),
        },
    )
    await session.execute(stmt)


async def _observe_npi(
    session: AsyncSession,
    tin: str,
    npi: str,
    kind: str,
    name: str | None,
    state: str | None,
    zip_code: str | None,
    at: datetime,
) -> None:
    stmt = pg_insert(ProviderNpi).values(
        tin=tin, npi=npi, kind=kind, name=name, state=state, zip=zip_code, last_seen_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[ProviderNpi.tin, ProviderNpi.npi, ProviderNpi.kind],
        set_={
            "name": func.coalesce(stmt.excluded.name, ProviderNpi.name),
            "state": stmt.excluded.state,
            "zip": stmt.excluded.zip,
            "last_seen_at": stmt.excluded.last_seen_at,
        },
    )
    await session.execute(stmt)


async def observe_bill(session: AsyncSession, bill: BillReceivedV1) -> None:
    """The provider, its billing NPI and the facility, from a received bill."""
    provider = bill.provider
    await observe_provider(session, provider, bill.received_at)
    address = provider.address
    await _observe_npi(
        session,
        provider.tin,
        provider.npi,
        "billing",
        provider.name,
        address.state if address else None,
        address.zip if address else None,
        bill.received_at,
    )
    facility = bill.facility
    if facility.npi:
        await _observe_npi(
            session,
            provider.tin,
            facility.npi,
            "facility",
            facility.name,
            facility.state,
            facility.zip,
            bill.received_at,
        )


def line_uc_target(priced: BillPricedV2, line_number: int) -> Decimal | None:
    """The line's U&C target: the median of the reviews that priced it (the mean of two)."""
    line = next(x for x in priced.lines if x.line_number == line_number)
    if priced.method is PricingMethod.usual_and_customary:
        return line.allowed
    if priced.usual_and_customary is None:
        return None
    allowances = [
        r.allowance
        for review in priced.usual_and_customary.reviews
        for r in review.lines
        if r.line_number == line_number and r.allowance is not None
    ]
    if not allowances:
        return None
    return Decimal(statistics.median(allowances)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def observe_pricing(session: AsyncSession, priced: BillPricedV2) -> None:
    """The bill's priced lines as the provider's charges and targets seen (the latest pricing wins)."""
    await observe_provider(session, priced.provider, priced.priced_at)
    await session.execute(
        delete(ProviderPrice).where(
            ProviderPrice.tin == priced.provider.tin, ProviderPrice.bill_id == priced.bill_id
        )
    )
    rows = [
        {
            "tin": priced.provider.tin,
            "bill_id": priced.bill_id,
            "line_number": line.line_number,
            "code": line.code,
            "units": line.units,
            "billed": line.billed,
            "uc_target": line_uc_target(priced, line.line_number),
            "allowed": line.allowed,
            "method": priced.method.value,
            "priced_at": priced.priced_at,
        }
        for line in priced.lines
        if line.code
    ]
    if rows:
        await session.execute(pg_insert(ProviderPrice), rows)


async def history(
    session: AsyncSession, tin: str, *, exclude_case: uuid.UUID | None = None
) -> list[PastPayment]:
    """The provider's accepted payments, most recent first (the strategy's input)."""
    stmt = (
        select(ProviderPayment.share_of_billed, ProviderPayment.share_of_target)
        .where(ProviderPayment.tin == tin)
        .order_by(ProviderPayment.agreed_at.desc())
    )
    if exclude_case is not None:
        stmt = stmt.where(ProviderPayment.case_id != exclude_case)
    return [PastPayment(r.share_of_billed, r.share_of_target) for r in await session.execute(stmt)]


async def record_payment(
    session: AsyncSession, case: Case, offer: Offer, *, quick_pay: bool, first_offer: bool, at: datetime
) -> None:
    """The payment the provider accepted on this case (both sides confirmed)."""
    base = case.target + case.unpriced_billed if case.target is not None else None
    values = {
        "case_id": case.id,
        "tin": case.provider_tin,
        "bill_id": case.bill_id,
        "client_id": case.client_id,
        "billed": case.billed,
        "target": base,
        "amount": offer.amount,
        "share_of_billed": (offer.amount / case.billed).quantize(SHARE, rounding=ROUND_HALF_UP)
        if case.billed
        else Decimal(0),
        "share_of_target": (offer.amount / base).quantize(SHARE, rounding=ROUND_HALF_UP) if base else None,
        "days_to_agree": max((at - case.opened_at).days, 0),
        "quick_pay_taken": quick_pay,
        "first_offer_accepted": first_offer,
        "agreed_at": at,
    }
    stmt = pg_insert(ProviderPayment).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ProviderPayment.case_id],
        set_={k: stmt.excluded[k] for k in values if k != "case_id"} | {"settled_at": None},
    )
    await session.execute(stmt)


async def withdraw_payment(session: AsyncSession, case_id: uuid.UUID) -> None:
    await session.execute(delete(ProviderPayment).where(ProviderPayment.case_id == case_id))


async def payment_settled(session: AsyncSession, case_id: uuid.UUID, at: datetime) -> None:
    payment = await session.get(ProviderPayment, case_id)
    if payment is not None and payment.settled_at is None:
        payment.settled_at = at


async def note(
    session: AsyncSession, tin: str, text: str, author: str, at: datetime, case_id: uuid.UUID | None = None
) -> ProviderNote:
    row = ProviderNote(id=uuid.uuid4(), tin=tin, case_id=case_id, author=author, at=at, text=text)
    session.add(row)
    await session.flush()
    return row


async def contact_named(
    session: AsyncSession, tin: str, name: str, *, role: str | None, email: str | None, by: str, at: datetime
) -> ProviderContact:
    """The provider's active contact of this name, added if new (a confirmation names its contact once)."""
    found = (
        await session.execute(
            select(ProviderContact).where(
                ProviderContact.tin == tin,
                func.lower(ProviderContact.name) == name.strip().lower(),
                ProviderContact.active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    contact = ProviderContact(
        id=uuid.uuid4(),
        tin=tin,
        name=name.strip(),
        role=role,
        phone=None,
        email=email,
        active=True,
        created_by=by,
        created_at=at,
        updated_by=by,
        updated_at=at,
    )
    session.add(contact)
    await session.flush()
    return contact


@dataclass(frozen=True)
class Summary:
    cases: int
    cases_open: int
    cases_agreed: int
    payer_offers_resolved: int
    payer_offers_accepted: int
    acceptance_rate: (
        Decimal | None
    )  # % of resolved payer offers (accepted, countered, declined, expired) it accepted
    median_share_of_billed: Decimal | None  # %
    median_share_of_target: Decimal | None  # %
    median_days_to_agree: Decimal | None
    quick_pay_rate: Decimal | None  # % of accepted payments with quick-pay terms


def _pct(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(statistics.median(values)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


async def summary(
    session: AsyncSession, tin: str, payments: Sequence[ProviderPayment], scope: frozenset[str] | None
) -> Summary:
    """The provider's figures over the cases of the clients in ``scope`` (None: every client)."""
    where = [Case.provider_tin == tin] + ([Case.client_id.in_(scope)] if scope is not None else [])
    status_rows = await session.execute(select(Case.status, func.count()).where(*where).group_by(Case.status))
    by_status: dict[str, int] = {status: n for status, n in status_rows.all()}
    offer_rows = await session.execute(
        select(Offer.status, func.count())
        .join(Case, Case.id == Offer.case_id)
        .where(
            *where, Offer.party == "payer", Offer.status.in_(["accepted", "countered", "declined", "expired"])
        )
        .group_by(Offer.status)
    )
    answered: dict[str, int] = {status: n for status, n in offer_rows.all()}
    total_resolved = sum(answered.values())
    accepted = answered.get("accepted", 0)
    days = [Decimal(p.days_to_agree) for p in payments]
    return Summary(
        cases=sum(by_status.values()),
        cases_open=by_status.get("open", 0) + by_status.get("confirming", 0),
        cases_agreed=by_status.get("agreed", 0) + by_status.get("settled", 0),
        payer_offers_resolved=total_resolved,
        payer_offers_accepted=accepted,
        acceptance_rate=(Decimal(accepted * 100) / total_resolved).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        if total_resolved
        else None,
        median_share_of_billed=_pct([p.share_of_billed for p in payments]),
        median_share_of_target=_pct([p.share_of_target for p in payments if p.share_of_target is not None]),
        median_days_to_agree=Decimal(statistics.median(days)) if days else None,
        quick_pay_rate=(Decimal(sum(p.quick_pay_taken for p in payments) * 100) / len(payments)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        if payments
        else None,
    )
