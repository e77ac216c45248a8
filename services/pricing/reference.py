"""A decision's reads of reference data, through the process's cache (``reference_cache``).

Each read asks for what a bill needs (its codes, its ZIP, its state…) and answers from the cache; only
what is not cached yet is read from the database, all of it in one query per kind of data. Rows come back
as plain, session-less model instances (built from Core rows): nothing is added to the caller's session,
and the instances are shared by later decisions, so callers only read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import (
    AnesthesiaBaseUnit,
    AnesthesiaConversionFactor,
    Base,
    ClientSettings,
    ClinicalLabRate,
    Contract,
    DmeposFee,
    DrgWeight,
    Facility,
    FeeSchedule,
    FeeScheduleExemption,
    Gpci,
    IppsRate,
    MueLimit,
    NetworkContract,
    OppsRate,
    PtpEdit,
    RelativeValue,
    WageIndex,
    ZipLocality,
)
from services.pricing.reference_cache import CACHE, MISSING, CacheView, ReferenceCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
M = TypeVar("M", bound=Base)
# One NCCI pair's periods, as cached: (column 2, effective from, deleted on, modifier indicator).
EditPeriod = tuple[str, Any, Any, str]


class ReferenceData:
    """Reference reads for one decision; open with :meth:`open` (one read of the reference version)."""

    def __init__(self, session: AsyncSession, view: CacheView) -> None:
        self.session, self.view = session, view

    @classmethod
    async def open(cls, session: AsyncSession, cache: ReferenceCache = CACHE) -> ReferenceData:
        return cls(session, await cache.view(session))

    # --- the cache ---------------------------------------------------------------------------

    async def _many(
        self,
        kind: str,
        keys: Iterable[K],
        fetch: Callable[[list[K]], Awaitable[dict[K, V]]],
        empty: V,
    ) -> dict[K, V]:
        """Each key's value, cached or fetched (every missing key in one ``fetch``); ``empty`` when absent."""
        found: dict[K, V] = {}
        missing: list[K] = []
        for key in set(keys):
            value = self.view.get((kind, key))
            if value is MISSING:
                missing.append(key)
            else:
                found[key] = value
        if missing:
            fetched = await fetch(missing)
            for key in missing:
                found[key] = fetched.get(key, empty)
                self.view.put((kind, key), found[key])
        return found

    async def _one(self, kind: str, key: K, fetch: Callable[[K], Awaitable[V]]) -> V:
        value = self.view.get((kind, key))
        if value is MISSING:
            value = await fetch(key)
            self.view.put((kind, key), value)
        return value

    async def _rows(self, model: type[M], query: Select[Any]) -> list[M]:
        """Session-less instances of ``model`` from a Core query of its table's columns."""
        result = await self.session.execute(query)
        return [model(**row._mapping) for row in result]

    def _grouped(self, rows: Iterable[M], key: Callable[[M], K]) -> dict[K, list[M]]:
        out: dict[K, list[M]] = {}
        for row in rows:
            out.setdefault(key(row), []).append(row)
        return out

    # --- Medicare and specialty schedules ------------------------------------------------------

    async def relative_values(self, year: int, codes: Iterable[str]) -> dict[tuple[str, str], RelativeValue]:
        """PPRRVU rows of these codes in ``year``, by (code, modifier)."""

        async def fetch(wanted: list[str]) -> dict[str, list[RelativeValue]]:
            t = RelativeValue.__table__
            rows = await self._rows(RelativeValue, select(t).where(t.c.year == year, t.c.hcpcs.in_(wanted)))
            return self._grouped(rows, lambda r: r.hcpcs)

        by_code: dict[str, list[RelativeValue]] = await self._many(f"rvu:{year}", codes, fetch, [])
        return {(r.hcpcs, r.modifier): r for rows in by_code.values() for r in rows}

    async def localities(self, year: int, state: str) -> Sequence[Gpci]:
        async def fetch(key: tuple[int, str]) -> list[Gpci]:
            t = Gpci.__table__
            return await self._rows(Gpci, select(t).where(t.c.year == year, t.c.state == state))

        return await self._one("gpci", (year, state), fetch)

    async def opps_rates(self, year: int, codes: Iterable[str]) -> dict[str, OppsRate]:
        async def fetch(wanted: list[str]) -> dict[str, OppsRate | None]:
            t = OppsRate.__table__
            rows = await self._rows(OppsRate, select(t).where(t.c.year == year, t.c.hcpcs.in_(wanted)))
            return {r.hcpcs: r for r in rows}

        found = await self._many(f"opps:{year}", codes, fetch, None)
        return {code: r for code, r in found.items() if r is not None}

    async def zip_rows(self, zip5: str) -> Sequence[ZipLocality]:
        """The ZIP's ZIP5 row and its ZIP9 ranges."""

        async def fetch(key: str) -> list[ZipLocality]:
            t = ZipLocality.__table__
            return await self._rows(ZipLocality, select(t).where(t.c.zip == key))

        return await self._one("zip", zip5, fetch)

    async def zip_file_loaded(self) -> bool:
        async def fetch(_: str) -> bool:
            t = ZipLocality.__table__
            found = await self.session.execute(select(t.c.zip).where(t.c.plus4_low == "").limit(1))
            return found.first() is not None

        return await self._one("zip5-loaded", "", fetch)

    async def anesthesia_cfs(self, mac: str, locality: str) -> Sequence[AnesthesiaConversionFactor]:
        """The locality's anesthesia conversion factor of every year loaded."""

        async def fetch(_: tuple[str, str]) -> list[AnesthesiaConversionFactor]:
            t = AnesthesiaConversionFactor.__table__
            query = select(t).where(t.c.mac == mac, t.c.locality == locality)
            return await self._rows(AnesthesiaConversionFactor, query)

        return await self._one("anesthesia-cf", (mac, locality), fetch)

    async def base_units(self, codes: Iterable[str]) -> dict[str, Decimal]:
        async def fetch(wanted: list[str]) -> dict[str, Decimal | None]:
            t = AnesthesiaBaseUnit.__table__
            rows = await self.session.execute(select(t.c.code, t.c.base_units).where(t.c.code.in_(wanted)))
            return {r.code: r.base_units for r in rows}

        found = await self._many("base-units", codes, fetch, None)
        return {code: units for code, units in found.items() if units is not None}

    async def lab_rates(self, codes: Iterable[str]) -> dict[str, list[ClinicalLabRate]]:
        """CLFS rows of these codes, every modifier and year loaded."""

        async def fetch(wanted: list[str]) -> dict[str, list[ClinicalLabRate]]:
            t = ClinicalLabRate.__table__
            rows = await self._rows(ClinicalLabRate, select(t).where(t.c.hcpcs.in_(wanted)))
            return self._grouped(rows, lambda r: r.hcpcs)

        found: dict[str, list[ClinicalLabRate]] = await self._many("clfs", codes, fetch, [])
        return {code: rows for code, rows in found.items() if rows}

    async def dme_fees(self, codes: Iterable[str], state: str) -> dict[str, list[DmeposFee]]:
        """The state's DMEPOS rows of these codes, every modifier and year loaded."""

        async def fetch(wanted: list[str]) -> dict[str, list[DmeposFee]]:
            t = DmeposFee.__table__
            query = select(t).where(t.c.hcpcs.in_(wanted), t.c.state == state)
            return self._grouped(await self._rows(DmeposFee, query), lambda r: r.hcpcs)

        found: dict[str, list[DmeposFee]] = await self._many(f"dmepos:{state}", codes, fetch, [])
        return {code: rows for code, rows in found.items() if rows}

    # --- inpatient -----------------------------------------------------------------------------

    async def drg_weights(self, drg: str) -> Sequence[DrgWeight]:
        async def fetch(key: str) -> list[DrgWeight]:
            t = DrgWeight.__table__
            return await self._rows(DrgWeight, select(t).where(t.c.drg == key))

        return await self._one("drg", drg, fetch)

    async def ipps_rates(self) -> Sequence[IppsRate]:
        async def fetch(_: str) -> list[IppsRate]:
            return await self._rows(IppsRate, select(IppsRate.__table__))

        return await self._one("ipps", "", fetch)

    async def wage_indexes(self, ccn: str | None, cbsa: str | None) -> Sequence[WageIndex]:
        """The hospital's (CCN) and its area's (CBSA) wage indexes of every fiscal year loaded."""
        wanted = [(kind, area) for kind, area in (("ccn", ccn), ("cbsa", cbsa)) if area]
        if not wanted:
            return []

        async def fetch(_: tuple[str | None, str | None]) -> list[WageIndex]:
            t = WageIndex.__table__
            query = select(t).where(tuple_(t.c.area_kind, t.c.area).in_(wanted))
            return await self._rows(WageIndex, query)

        return await self._one("wage-index", (ccn, cbsa), fetch)

    # --- terms, clients and the facility registry ----------------------------------------------

    async def fee_schedules(self, jurisdiction: str) -> Sequence[FeeSchedule]:
        """The jurisdiction's fee schedules, by id, each with its exemptions."""

        async def fetch(key: str) -> list[FeeSchedule]:
            t = FeeSchedule.__table__
            return await self._schedules(select(t).where(t.c.jurisdiction == key).order_by(t.c.id))

        return await self._one("fee-schedules", jurisdiction, fetch)

    async def fee_schedule(self, schedule_id: str) -> FeeSchedule | None:
        async def fetch(key: str) -> FeeSchedule | None:
            t = FeeSchedule.__table__
            found = await self._schedules(select(t).where(t.c.id == key))
            return found[0] if found else None

        return await self._one("fee-schedule", schedule_id, fetch)

    async def _schedules(self, query: Select[Any]) -> list[FeeSchedule]:
        rows = (await self.session.execute(query)).all()
        if not rows:
            return []
        e = FeeScheduleExemption.__table__
        exempt = await self._rows(
            FeeScheduleExemption,
            select(e).where(e.c.fee_schedule_id.in_([r.id for r in rows])).order_by(e.c.id),
        )
        by_schedule = self._grouped(exempt, lambda x: x.fee_schedule_id)
        return [FeeSchedule(**r._mapping, exemptions=by_schedule.get(r.id, [])) for r in rows]

    async def client(self, client_id: str) -> ClientSettings | None:
        async def fetch(key: str) -> ClientSettings | None:
            t = ClientSettings.__table__
            found = await self._rows(ClientSettings, select(t).where(t.c.client_id == key))
            return found[0] if found else None

        return await self._one("client", client_id, fetch)

    async def contracts_in_network(self, network_id: str, tin: str) -> Sequence[Contract]:
        async def fetch(_: tuple[str, str]) -> list[Contract]:
            t, n = Contract.__table__, NetworkContract.__table__
            query = (
                select(t)
                .join(n, n.c.contract_id == t.c.id)
                .where(n.c.network_id == network_id, t.c.provider_tin == tin)
                .order_by(t.c.id)
            )
            return await self._rows(Contract, query)

        return await self._one("contracts", (network_id, tin), fetch)

    async def facility(self, npis: Iterable[str | None]) -> Facility | None:
        """The registry entry of the first of these NPIs the registry knows."""
        for npi in npis:
            if not npi:
                continue
            found = await self._one("facility", npi, self._facility)
            if found is not None:
                return found
        return None

    async def _facility(self, npi: str) -> Facility | None:
        t = Facility.__table__
        found = await self._rows(Facility, select(t).where(t.c.npi == npi))
        return found[0] if found else None

    # --- coding edits --------------------------------------------------------------------------

    async def ptp_edits(self, edit_set: str, codes: Iterable[str]) -> Sequence[PtpEdit]:
        """NCCI pairs whose two codes are both among ``codes``, every period loaded.

        Cached per column 1 code with all its column 2 codes, as plain tuples (a code can head hundreds
        of pairs); instances are built only for the pairs this bill holds.
        """
        wanted = sorted(set(codes))
        if len(wanted) < 2:
            return []

        async def fetch(column1: list[str]) -> dict[str, list[EditPeriod]]:
            t = PtpEdit.__table__
            rows = await self.session.execute(
                select(t.c.column1, t.c.column2, t.c.effective_from, t.c.deleted_on, t.c.modifier_indicator)
                .where(t.c.edit_set == edit_set, t.c.column1.in_(column1))
                .order_by(t.c.column1, t.c.column2, t.c.effective_from)
            )
            out: dict[str, list[EditPeriod]] = {}
            for r in rows:
                out.setdefault(r.column1, []).append(
                    (r.column2, r.effective_from, r.deleted_on, r.modifier_indicator)
                )
            return out

        by_column1: dict[str, list[EditPeriod]] = await self._many(f"ptp:{edit_set}", wanted, fetch, [])
        present = set(wanted)
        return [
            PtpEdit(
                edit_set=edit_set,
                column1=column1,
                column2=column2,
                effective_from=start,
                deleted_on=end,
                modifier_indicator=indicator,
            )
            for column1, periods in by_column1.items()
            for column2, start, end, indicator in periods
            if column2 in present
        ]

    async def mue_limits(self, edit_set: str, codes: Iterable[str]) -> dict[str, MueLimit]:
        async def fetch(wanted: list[str]) -> dict[str, MueLimit | None]:
            t = MueLimit.__table__
            query = select(t).where(t.c.edit_set == edit_set, t.c.hcpcs.in_(wanted))
            return {r.hcpcs: r for r in await self._rows(MueLimit, query)}

        found = await self._many(f"mue:{edit_set}", codes, fetch, None)
        return {code: limit for code, limit in found.items() if limit is not None}
