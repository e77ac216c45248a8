"""Definition files: fee schedules, contracts and agreements, custom networks, client settings.

Each is a JSON array of objects, read one item at a time (ijson). An item is validated by its pydantic
model; an invalid one is rejected with the field and the reason, and the rest are loaded. Items are
upserts by id: a load replaces the definitions it names and leaves the others alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import ijson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, ReferenceFileError
from services.pricing.importers.tables import open_json
from services.pricing.models import (
    ClientSettings,
    Contract,
    FeeSchedule,
    FeeScheduleExemption,
    Network,
    NetworkContract,
)
from shared.codes import NPI, TIN, StateCode
from shared.contracts import LineOfBusiness
from shared.http import field_path

EARLIEST = date(1900, 1, 1)
M = TypeVar("M", bound=BaseModel)
Percent = Annotated[Decimal, Field(gt=0, le=1000)]
Positive = Annotated[Decimal, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exemption(_Strict):
    npi: NPI | None = None
    tin: TIN | None = None
    name: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> Exemption:
        if self.npi is None and self.tin is None:
            raise ValueError("an exempt facility needs an npi or a tin")
        return self


class PercentOfIpps(_Strict):
    type: Literal["percent_of_ipps"]
    percent: Percent = Field(
        description="Percent of the Medicare IPPS amount (operating + capital) of the stay."
    )


class InpatientPerDiem(_Strict):
    type: Literal["per_diem"]
    rate: Positive = Field(description="Dollars per day of the stay.")


InpatientRule = Annotated[PercentOfIpps | InpatientPerDiem, Field(discriminator="type")]
INPATIENT_RULE = TypeAdapter(InpatientRule)


class FeeScheduleIn(_Strict):
    id: str = Field(min_length=1, max_length=100)
    name: str
    jurisdiction: StateCode
    line_of_business: LineOfBusiness | None = None
    professional_multiplier: Positive | None = Field(description="× Medicare physician fee schedule")
    outpatient_facility_multiplier: Positive | None = Field(default=None, description="× Medicare OPPS")
    inpatient: InpatientRule | None = Field(
        default=None,
        description="Inpatient stays (type of bill 11x): a percent of Medicare IPPS, or a per diem.",
    )
    anesthesia_conversion_factor: Positive | None = Field(
        default=None,
        description="The schedule's own anesthesia conversion factor (dollars per unit); else Medicare's "
        "locality CF × the professional multiplier.",
    )
    clinical_lab_multiplier: Positive | None = Field(
        default=None, description="× Medicare CLFS; else the multiplier of the bill's setting."
    )
    dme_multiplier: Positive | None = Field(
        default=None, description="× Medicare DMEPOS; else the multiplier of the bill's setting."
    )
    effective_from: date = EARLIEST
    effective_to: date | None = None
    exempt_facilities: list[Exemption] = Field(default_factory=list)


class PercentOfBilled(_Strict):
    type: Literal["percent_of_billed"]
    percent: Percent


class PerDiem(_Strict):
    type: Literal["per_diem"]
    rate: Positive


class PercentOfFeeSchedule(_Strict):
    type: Literal["percent_of_fee_schedule"]
    percent: Percent
    schedule: str = Field(default="medicare", description="'medicare' or the id of a loaded fee schedule")
    unlisted_percent_of_billed: Percent | None = Field(
        default=None, description="Lines the schedule does not price are paid at this percent of billed."
    )


class CaseRate(_Strict):
    """A price per inpatient stay by its MS-DRG; stays of other MS-DRGs at ``per_diem`` or a percent of
    billed when the contract says so."""

    type: Literal["case_rate"]
    rates: dict[Annotated[str, Field(pattern=r"^\d{3}$")], Positive] = Field(
        min_length=1, description="MS-DRG (three digits) → dollars for the stay."
    )
    per_diem: Positive | None = Field(default=None, description="Other MS-DRGs: dollars a day.")
    unlisted_percent_of_billed: Percent | None = Field(
        default=None, description="Other MS-DRGs (and stays without one): percent of billed."
    )


Terms = Annotated[PercentOfBilled | PerDiem | PercentOfFeeSchedule | CaseRate, Field(discriminator="type")]
TERMS = TypeAdapter(Terms)


class ProviderIn(_Strict):
    tin: TIN
    npi: NPI | None = None


class ContractIn(_Strict):
    id: str = Field(min_length=1, max_length=100)
    kind: Literal["ppo", "agreement"]
    name: str
    provider: ProviderIn
    effective_from: date = EARLIEST
    effective_to: date | None = None
    terms: Terms


class NetworkIn(_Strict):
    id: str = Field(min_length=1, max_length=100)
    name: str
    contracts: list[str] = Field(default_factory=list)


class ClientIn(_Strict):
    client_id: str = Field(min_length=1, max_length=100)
    network: str | None = None
    uc_percentile: int | None = Field(default=None, ge=1, le=99)
    uc_basis: Literal["charges", "allowed"] | None = None


def _items(path: Path, summary: LoadSummary, progress: Progress | None) -> Iterator[tuple[int, Any]]:
    with open_json(path, summary, progress) as fh:
        try:
            yield from enumerate(ijson.items(fh, "item"), start=1)
        except ijson.JSONError as exc:
            raise ReferenceFileError(f"{path.name}: not a JSON array of objects ({exc})") from exc


def _validated(model: type[M], item: Any) -> M | str:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(tuple(first.get("loc", ())))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {first.get('msg', 'invalid')}{more}"


async def load_fee_schedules(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    for number, item in _items(path, summary, progress):
        parsed = _validated(FeeScheduleIn, item)
        if isinstance(parsed, str):
            summary.reject(number, parsed)
            continue
        await session.execute(delete(FeeSchedule).where(FeeSchedule.id == parsed.id))
        await session.flush()
        session.add(
            FeeSchedule(
                id=parsed.id,
                name=parsed.name,
                jurisdiction=parsed.jurisdiction,
                line_of_business=parsed.line_of_business.value if parsed.line_of_business else None,
                professional_multiplier=parsed.professional_multiplier,
                outpatient_facility_multiplier=parsed.outpatient_facility_multiplier,
                inpatient=parsed.inpatient.model_dump(mode="json") if parsed.inpatient else None,
                anesthesia_conversion_factor=parsed.anesthesia_conversion_factor,
                clinical_lab_multiplier=parsed.clinical_lab_multiplier,
                dme_multiplier=parsed.dme_multiplier,
                effective_from=parsed.effective_from,
                effective_to=parsed.effective_to,
                exemptions=[FeeScheduleExemption(**e.model_dump()) for e in parsed.exempt_facilities],
            )
        )
        await session.flush()
        summary.rows_loaded += 1


async def load_contracts(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    for number, item in _items(path, summary, progress):
        parsed = _validated(ContractIn, item)
        if isinstance(parsed, str):
            summary.reject(number, parsed)
            continue
        values = {
            "kind": parsed.kind,
            "name": parsed.name,
            "provider_tin": parsed.provider.tin,
            "provider_npi": parsed.provider.npi,
            "effective_from": parsed.effective_from,
            "effective_to": parsed.effective_to,
            "terms": parsed.terms.model_dump(mode="json"),
        }
        await session.execute(
            pg_insert(Contract)
            .values(id=parsed.id, **values)
            .on_conflict_do_update(index_elements=[Contract.id], set_=values)
        )
        summary.rows_loaded += 1


async def load_networks(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    for number, item in _items(path, summary, progress):
        parsed = _validated(NetworkIn, item)
        if isinstance(parsed, str):
            summary.reject(number, parsed)
            continue
        known = set(
            (await session.execute(select(Contract.id).where(Contract.id.in_(parsed.contracts)))).scalars()
        )
        unknown = sorted(set(parsed.contracts) - known)
        if unknown:
            summary.reject(
                number, f"contracts: unknown contract ids {', '.join(unknown)} (load contracts first)"
            )
            continue
        await session.execute(
            pg_insert(Network)
            .values(id=parsed.id, name=parsed.name)
            .on_conflict_do_update(index_elements=[Network.id], set_={"name": parsed.name})
        )
        await session.execute(delete(NetworkContract).where(NetworkContract.network_id == parsed.id))
        if parsed.contracts:
            await session.execute(
                pg_insert(NetworkContract).values(
                    [{"network_id": parsed.id, "contract_id": c} for c in sorted(set(parsed.contracts))]
                )
            )
        summary.rows_loaded += 1


async def load_clients(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    for number, item in _items(path, summary, progress):
        parsed = _validated(ClientIn, item)
        if isinstance(parsed, str):
            summary.reject(number, parsed)
            continue
        if parsed.network is not None and await session.get(Network, parsed.network) is None:
            summary.reject(number, f"network: unknown network {parsed.network!r} (load networks first)")
            continue
        values = {
            "network_id": parsed.network,
            "uc_percentile": parsed.uc_percentile,
            "uc_basis": parsed.uc_basis,
        }
        await session.execute(
            pg_insert(ClientSettings)
            .values(client_id=parsed.client_id, **values)
            .on_conflict_do_update(index_elements=[ClientSettings.client_id], set_=values)
        )
        summary.rows_loaded += 1
