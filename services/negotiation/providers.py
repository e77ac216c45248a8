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

from pydantic_core import to_json
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation.models import (
    Case,
    Offer,
    ProviderContact,
    ProviderNote,
    ProviderPayment,
)
from services.negotiation.strategy import PastPayment
from shared.contracts import BillPricedV2, BillReceivedV1, PricingMethod, ProviderRef

SHARE = Decimal("0.0001")


# Every sighting of a provider: its name and address when given (an address-less sighting writes JSON
# null, as it always has), the latest time seen. The CTE of the two statements below.
_PROVIDER = """
    provider AS (
        INSERT INTO negotiation.providers AS p (tin, name, address, first_seen_at, last_seen_at)
        VALUES (:tin, :name, CAST(:address AS jsonb), CAST(:at AS timestamptz), CAST(:at AS timestamptz))
        ON CONFLICT (tin) DO UPDATE SET
            name = coalesce(EXCLUDED.name, p.name),
            address = coalesce(EXCLUDED.address, p.address),
            last_seen_at = greatest(p.last_seen_at, EXCLUDED.last_seen_at)
        RETURNING tin
    )
"""

# The NPIs seen on a bill (billing, and the facility's when given), after the provider CTE: with it,
# the statement that records a received bill (CaseRepository.record_received).
OBSERVE_BILL = f"""
    {_PROVIDER}
    INSERT INTO negotiation.provider_npis AS n (tin, npi, kind, name, state, zip, last_seen_at)
    SELECT provider.tin, r.npi, r.kind, r.name, r.state, r.zip, CAST(:at AS timestamptz)
    FROM provider, jsonb_to_recordset(CAST(:npis AS jsonb))
         AS r(npi text, kind text, name text, state text, zip text)
    ON CONFLICT (tin, npi, kind) DO UPDATE SET
        name = coalesce(EXCLUDED.name, n.name), state = EXCLUDED.state, zip = EXCLUDED.zip,
        last_seen_at = EXCLUDED.last_seen_at
"""

# The provider and a bill's priced lines, replacing those of its earlier pricing: CTEs that the
# statement reading what the pricing meets begins with (CaseRepository.observe_pricing).
OBSERVE_PRICING = f"""
    {_PROVIDER}, gone AS (
        DELETE FROM negotiation.provider_prices
        WHERE tin = :tin AND bill_id = CAST(:bill_id AS uuid)
          AND NOT (line_number = ANY(CAST(:line_numbers AS integer[])))
    ), prices AS (
        INSERT INTO negotiation.provider_prices AS x
        SELECT r.* FROM provider,
             jsonb_populate_recordset(NULL::negotiation.provider_prices, CAST(:rows AS jsonb)) AS r
        ON CONFLICT (tin, bill_id, line_number) DO UPDATE SET
            code = EXCLUDED.code, units = EXCLUDED.units, billed = EXCLUDED.billed,
            uc_target = EXCLUDED.uc_target, allowed = EXCLUDED.allowed, method = EXCLUDED.method,
            priced_at = EXCLUDED.priced_at
    )
"""


def _provider_params(provider: ProviderRef, at: datetime) -> dict[str, object]:
    address = provider.address.model_dump() if provider.address else None
    return {"tin": provider.tin, "name": provider.name, "address": to_json(address).decode(), "at": at}


def bill_params(bill: BillReceivedV1) -> dict[str, object]:
    """The parameters of :data:`OBSERVE_BILL`: the provider, its billing NPI and the facility."""
    provider, facility = bill.provider, bill.facility
    address = provider.address
    npis = [
        {
            "npi": provider.npi,
            "kind": "billing",
            "name": provider.name,
            "state": address.state if address else None,
            "zip": address.zip if address else None,
        }
    ]
    if facility.npi:
        npis.append(
            {
                "npi": facility.npi,
                "kind": "facility",
                "name": facility.name,
                "state": facility.state,
                "zip": facility.zip,
            }
        )
    return {**_provider_params(provider, bill.received_at), "npis": to_json(npis).decode()}


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


def pricing_params(priced: BillPricedV2) -> dict[str, object]:
    """The parameters of :data:`OBSERVE_PRICING`: the bill's priced lines as the provider's charges and
    targets seen (the latest pricing wins)."""
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
    return {
        **_provider_params(priced.provider, priced.priced_at),
        "bill_id": priced.bill_id,
        "line_numbers": [row["line_number"] for row in rows],
        "rows": to_json(rows).decode(),
    }


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
