"""Queries on pricing's tables. Repositories flush; the caller's transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import (
    AnesthesiaBaseUnit,
    AnesthesiaConversionFactor,
    ClientSettings,
    ClinicalLabRate,
    Contract,
    DmeposFee,
    DrgWeight,
    Facility,
    FeeSchedule,
    Gpci,
    IppsRate,
    MueLimit,
    NetworkContract,
    OppsRate,
    Pricing,
    PtpEdit,
    ReceivedBill,
    RelativeValue,
    WageIndex,
    ZipLocality,
)


class PricingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reference data ------------------------------------------------------------------------

    async def relative_values(self, year: int, codes: Iterable[str]) -> dict[tuple[str, str], RelativeValue]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(RelativeValue).where(RelativeValue.year == year, RelativeValue.hcpcs.in_(wanted))
        )
        return {(r.hcpcs, r.modifier): r for r in rows.scalars()}

    async def localities(self, year: int, state: str) -> Sequence[Gpci]:
        rows = await self.session.execute(select(Gpci).where(Gpci.year == year, Gpci.state == state))
        return rows.scalars().all()

    async def opps_rates(self, year: int, codes: Iterable[str]) -> dict[str, OppsRate]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(OppsRate).where(OppsRate.year == year, OppsRate.hcpcs.in_(wanted))
        )
        return {r.hcpcs: r for r in rows.scalars()}

    async def zip_rows(self, zip5: str) -> Sequence[ZipLocality]:
        """The ZIP's ZIP5 row and its ZIP9 ranges (one indexed range scan)."""
        rows = await self.session.execute(select(ZipLocality).where(ZipLocality.zip == zip5))
        return rows.scalars().all()

    async def zip_file_loaded(self) -> bool:
        found = await self.session.execute(
            select(ZipLocality.zip).where(ZipLocality.plus4_low == "").limit(1)
        )
        return found.first() is not None

    async def anesthesia_cfs(self, mac: str, locality: str) -> Sequence[AnesthesiaConversionFactor]:
        """The locality's anesthesia conversion factor of every year loaded."""
        rows = await self.session.execute(
            select(AnesthesiaConversionFactor).where(
                AnesthesiaConversionFactor.mac == mac, AnesthesiaConversionFactor.locality == locality
            )
        )
        return rows.scalars().all()

    async def base_units(self, codes: Iterable[str]) -> dict[str, Decimal]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(AnesthesiaBaseUnit).where(AnesthesiaBaseUnit.code.in_(wanted))
        )
        return {r.code: r.base_units for r in rows.scalars()}

    async def lab_rates(self, codes: Iterable[str]) -> dict[str, list[ClinicalLabRate]]:
        """CLFS rows of these codes, every modifier and year loaded."""
        wanted = sorted(set(codes))
        out: dict[str, list[ClinicalLabRate]] = {}
        if wanted:
            rows = await self.session.execute(
                select(ClinicalLabRate).where(ClinicalLabRate.hcpcs.in_(wanted))
            )
            for r in rows.scalars():
                out.setdefault(r.hcpcs, []).append(r)
        return out

    async def dme_fees(self, codes: Iterable[str], state: str) -> dict[str, list[DmeposFee]]:
        """The state's DMEPOS rows of these codes, every modifier and year loaded."""
        wanted = sorted(set(codes))
        out: dict[str, list[DmeposFee]] = {}
        if wanted:
            rows = await self.session.execute(
                select(DmeposFee).where(DmeposFee.hcpcs.in_(wanted), DmeposFee.state == state)
            )
            for r in rows.scalars():
                out.setdefault(r.hcpcs, []).append(r)
        return out

    async def drg_weights(self, drg: str) -> Sequence[DrgWeight]:
        rows = await self.session.execute(select(DrgWeight).where(DrgWeight.drg == drg))
        return rows.scalars().all()

    async def ipps_rates(self) -> Sequence[IppsRate]:
        return (await self.session.execute(select(IppsRate))).scalars().all()

    async def wage_indexes(self, ccn: str | None, cbsa: str | None) -> Sequence[WageIndex]:
        """The hospital's (CCN) and its area's (CBSA) wage indexes of every fiscal year loaded."""
        keys = [("ccn", ccn), ("cbsa", cbsa)]
        wanted = [(kind, area) for kind, area in keys if area]
        if not wanted:
            return []
        rows = await self.session.execute(
            select(WageIndex).where(tuple_(WageIndex.area_kind, WageIndex.area).in_(wanted))
        )
        return rows.scalars().all()

    async def fee_schedules(self, jurisdiction: str) -> Sequence[FeeSchedule]:
        rows = await self.session.execute(
            select(FeeSchedule).where(FeeSchedule.jurisdiction == jurisdiction).order_by(FeeSchedule.id)
        )
        return rows.scalars().all()

    async def fee_schedule(self, schedule_id: str) -> FeeSchedule | None:
        return await self.session.get(FeeSchedule, schedule_id)

    async def client(self, client_id: str) -> ClientSettings | None:
        return await self.session.get(ClientSettings, client_id)

    async def contracts_in_network(self, network_id: str, tin: str) -> Sequence[Contract]:
        rows = await self.session.execute(
            select(Contract)
            .join(NetworkContract, NetworkContract.contract_id == Contract.id)
            .where(NetworkContract.network_id == network_id, Contract.provider_tin == tin)
            .order_by(Contract.id)
        )
        return rows.scalars().all()

    async def facility(self, npis: Iterable[str | None]) -> Facility | None:
        for npi in npis:
            if npi:
                found = await self.session.get(Facility, npi)
                if found is not None:
                    return found
        return None

    async def ptp_edits(self, edit_set: str, codes: Iterable[str]) -> Sequence[PtpEdit]:
        wanted = sorted(set(codes))
        if len(wanted) < 2:
            return []
        rows = await self.session.execute(
            select(PtpEdit).where(
                PtpEdit.edit_set == edit_set, PtpEdit.column1.in_(wanted), PtpEdit.column2.in_(wanted)
            )
        )
        return rows.scalars().all()

    async def mue_limits(self, edit_set: str, codes: Iterable[str]) -> dict[str, MueLimit]:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(MueLimit).where(MueLimit.edit_set == edit_set, MueLimit.hcpcs.in_(wanted))
        )
        return {r.hcpcs: r for r in rows.scalars()}

    # --- bills and pricings --------------------------------------------------------------------

    async def bill(self, bill_id: uuid.UUID, *, for_update: bool = False) -> ReceivedBill | None:
        query = select(ReceivedBill).where(ReceivedBill.bill_id == bill_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def bills_priced_before(self, moment: datetime) -> Sequence[uuid.UUID]:
        """Bills whose latest pricing is older than ``moment`` (e.g. a reference-data load)."""
        latest = (
            select(Pricing.bill_id, func.max(Pricing.priced_at).label("at"))
            .group_by(Pricing.bill_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(latest.c.bill_id)
            .join(ReceivedBill, ReceivedBill.bill_id == latest.c.bill_id)
            .where(latest.c.at < moment, ReceivedBill.voided.is_(False))
            .order_by(latest.c.bill_id)
        )
        return rows.scalars().all()

    async def next_revision(self, bill_id: uuid.UUID) -> int:
        current = await self.session.execute(
            select(func.max(Pricing.revision)).where(Pricing.bill_id == bill_id)
        )
        return int(current.scalar_one() or 0) + 1

    async def latest(self, bill_id: uuid.UUID) -> Pricing | None:
        rows = await self.session.execute(
            select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision.desc()).limit(1)
        )
        return rows.scalar_one_or_none()

    async def history(self, bill_id: uuid.UUID, clients: Iterable[str] | None = None) -> Sequence[Pricing]:
        """Every pricing revision of the bill, oldest first; none when ``clients`` (None: all) excludes
        the bill's client."""
        query = select(Pricing).where(Pricing.bill_id == bill_id).order_by(Pricing.revision)
        if clients is not None:
            query = query.where(Pricing.client_id.in_(list(clients)))
        rows = await self.session.execute(query)
        return rows.scalars().all()

    async def add(self, pricing: Pricing) -> Pricing:
        self.session.add(pricing)
        await self.session.flush()
        return pricing
