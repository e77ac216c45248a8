"""Queries on negotiation's case tables. Repositories flush; the caller's transaction commits.

Client scoping is done here: a scope of ``None`` sees every client; otherwise a case of another client
is not found (404, never 403, so its existence is not revealed).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation import providers
from services.negotiation.confirmations import facts_row
from services.negotiation.models import Approval, BillFacts, Case, CaseHistory, Offer, VoidedBill
from shared.contracts import BillPricedV2, BillReceivedV1
from shared.errors import NotFound

Scope = frozenset[str] | None

_FACT_COLUMNS = [c.name for c in BillFacts.__table__.columns if c.name != "bill_id"]
# A received bill: its facts (the latest revision's), then the provider and its NPIs.
_RECEIVED = text(
    f"""
    WITH facts AS (
        INSERT INTO negotiation.bill_facts AS f
        SELECT * FROM jsonb_populate_record(NULL::negotiation.bill_facts, CAST(:facts AS jsonb))
        ON CONFLICT (bill_id) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in _FACT_COLUMNS)}
        WHERE f.revision <= EXCLUDED.revision
    ), {providers.OBSERVE_BILL}
    """
)
# A pricing of a bill: the provider and its priced lines, then what the pricing meets.
_OBSERVE_PRICING = text(
    f"""
    WITH {providers.OBSERVE_PRICING}
    SELECT
        (SELECT id FROM negotiation.cases WHERE bill_id = CAST(:bill_id AS uuid)) AS case_id,
        EXISTS (SELECT 1 FROM negotiation.voided_bills WHERE bill_id = CAST(:bill_id AS uuid)) AS voided,
        (SELECT settings FROM negotiation.client_settings WHERE client_id = :client_id) AS settings
    """
)


@dataclass(frozen=True)
class PricingContext:
    case_id: uuid.UUID | None
    voided: bool
    settings: dict[str, Any] | None  # the client's stored overrides; None: it set nothing


async def snapshot(session: AsyncSession) -> None:
    """Read what follows from one snapshot. A case and its offers, clocks and history are loaded by
    several statements; under READ COMMITTED a change committed between them would show half of it."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False, scope: Scope = None) -> Case | None:
        stmt = select(Case).where(Case.id == case_id)
        if scope is not None:
            stmt = stmt.where(Case.client_id.in_(scope))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def found(self, case_id: uuid.UUID, *, scope: Scope, for_update: bool = False) -> Case:
        case = await self.get(case_id, for_update=for_update, scope=scope)
        if case is None:
            raise NotFound(f"no case {case_id}")
        return case

    async def for_bill(self, bill_id: uuid.UUID) -> Case | None:
        stmt = select(Case).where(Case.bill_id == bill_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_offer(self, offer_id: uuid.UUID) -> Case | None:
        stmt = (
            select(Case).join(Offer, Offer.case_id == Case.id).where(Offer.id == offer_id).with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_link(self, token_sha256: str, *, for_update: bool = False) -> tuple[Case, Offer] | None:
        stmt = (
            select(Case, Offer)
            .join(Offer, Offer.case_id == Case.id)
            .where(Offer.link_token_sha256 == token_sha256)
        )
        if for_update:
            stmt = stmt.with_for_update(of=Case)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def record_void(self, bill_id: uuid.UUID, reason: str, at: datetime) -> None:
        stmt = pg_insert(VoidedBill).values(bill_id=bill_id, reason=reason, voided_at=at)
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def record_received(self, bill: BillReceivedV1) -> None:
        """Keep the latest revision's facts (an older revision arriving late changes nothing), and the
        provider with the NPIs the bill names: one statement."""
        await self.session.execute(
            _RECEIVED, {"facts": to_json(facts_row(bill)).decode(), **providers.bill_params(bill)}
        )

    async def observe_pricing(self, priced: BillPricedV2) -> PricingContext:
        """Record the bill's priced lines with its provider (:func:`providers.pricing_params`) and read
        what the pricing meets: its case (id only, unlocked), whether the bill was voided, and the
        client's stored settings. One statement."""
        params = {**providers.pricing_params(priced), "client_id": priced.client_id}
        row = (await self.session.execute(_OBSERVE_PRICING, params)).one()
        return PricingContext(row.case_id, row.voided, row.settings)

    async def search(
        self,
        *,
        scope: Scope,
        bill_id: uuid.UUID | None,
        status: str | None,
        client_id: str | None,
        route: str | None,
        provider_tin: str | None,
        limit: int,
        offset: int,
    ) -> Sequence[Case]:
        stmt = select(Case).order_by(Case.opened_at.desc(), Case.id).limit(limit).offset(offset)
        if scope is not None:
            stmt = stmt.where(Case.client_id.in_(scope))
        for column, value in (
            (Case.bill_id, bill_id),
            (Case.status, status),
            (Case.client_id, client_id),
            (Case.route, route),
            (Case.provider_tin, provider_tin),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return (await self.session.execute(stmt)).scalars().all()

    async def history(self, case_id: uuid.UUID) -> Sequence[CaseHistory]:
        stmt = select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(CaseHistory.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def approvals(
        self, *, scope: Scope, status: str | None, limit: int, offset: int
    ) -> Sequence[Approval]:
        stmt = (
            select(Approval)
            .join(Case, Case.id == Approval.case_id)
            .order_by(Approval.requested_at, Approval.id)
            .limit(limit)
            .offset(offset)
        )
        if scope is not None:
            stmt = stmt.where(Case.client_id.in_(scope))
        if status is not None:
            stmt = stmt.where(Approval.status == status)
        return (await self.session.execute(stmt)).scalars().all()
