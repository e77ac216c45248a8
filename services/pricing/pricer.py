"""A bill's reference data, fetched once per bill, and the schedule pricing every method shares.

``BillPricer.load`` reads what the bill's lines need through the process's reference cache
(``reference``): relative values, OPPS rates, the ZIP's locality, GPCIs, and only when the bill has such
lines, anesthesia conversion factors and base units, CLFS and DMEPOS rows, the MS-DRG's weights, IPPS
rates and the hospital's wage index. Once cached, none of it costs a query; what is not cached yet takes
one query per kind of data, whatever the number of lines (never a round trip per line).

``schedule(lines, multiplier)`` prices lines at a multiplier of Medicare:
- inpatient stays (type of bill 11x): IPPS × factor (or the schedule's per diem) for the stay, shared
  over the lines by charge (``inpatient``);
- professional lines: anesthesia codes by units (``anesthesia``); the physician fee schedule; lines it
  does not pay, on the CLFS, then DMEPOS (``lab_dme``);
- outpatient facility lines: OPPS with its packaging rules, lab and DME as above (``schedules``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.pricing.anesthesia import ConversionFactor, is_anesthesia, price_anesthesia
from services.pricing.config import PricingSettings
from services.pricing.inpatient import (
    Ipps,
    allocate,
    fiscal_year,
    ipps,
    is_inpatient,
    stay_days,
    stay_end,
    unpriced_stay,
)
from services.pricing.lab_dme import Scaled, pick_year, price_dme, price_lab
from services.pricing.localities import Locality, MedicareArea, area_of, choose_locality
from services.pricing.models import AnesthesiaConversionFactor, Facility, RelativeValue
from services.pricing.quotes import LineQuote, unpriced
from services.pricing.reference import ReferenceData
from services.pricing.schedules import Multiplier, price_line, price_outpatient
from services.pricing.service_codes import cents
from shared.contracts import BillLineV1, BillReceivedV1, ClaimType


class BillPricer:
    """The bill's reference data, loaded once, and the schedule pricing every method shares."""

    def __init__(self, bill: BillReceivedV1, settings: PricingSettings, reference: ReferenceData) -> None:
        self.bill, self.settings, self.reference = bill, settings, reference
        self.year = settings.cms_year
        self.professional = bill.claim_type is ClaimType.professional
        self.inpatient = is_inpatient(bill)
        self.rvus: dict[tuple[str, str], RelativeValue] = {}
        self.locality: Locality | None = None
        self.area = MedicareArea(None, None, None, "")
        self.facility: Facility | None = None
        self._facility_read = False
        self.base_units: dict[str, Decimal] = {}
        self.anesthesia_cf: dict[int, ConversionFactor] = {}
        self.ipps: Ipps | str = ""
        self.codes = sorted({line.procedure_code for line in bill.lines if line.procedure_code})
        self._loaded = False

    async def comparison_base_units(self) -> dict[str, Decimal]:
        """Base units of the bill's anesthesia codes (U&C compares anesthesia per unit); none for a stay."""
        anesthesia = [c for c in self.codes if is_anesthesia(c)]
        if anesthesia and not self.inpatient:
            self.base_units = await self.reference.base_units(anesthesia)
        return self.base_units

    async def load(self) -> None:
        """What pricing at a multiplier (``schedule``) needs; read once, and only by a step that prices so
        (a fee schedule, a contract): a bill priced on its U&C reviews never reads schedules."""
        if self._loaded:
            return
        self._loaded = True
        bill, repo, codes = self.bill, self.reference, self.codes
        if self.inpatient:
            await self.registry_facility()  # its CCN or CBSA picks the wage index
            await self._load_stay()
            return
        self.rvus = await repo.relative_values(self.year, codes)
        self.opps = {} if self.professional else await repo.opps_rates(self.year, codes)
        zip_rows = await repo.zip_rows(bill.facility.zip[:5])
        loaded = bool(zip_rows) or await repo.zip_file_loaded()
        self.area = area_of(bill.facility.zip, zip_rows, loaded)
        self.locality = choose_locality(
            bill.facility.state, await repo.localities(self.year, bill.facility.state), self.area
        )
        if await self.comparison_base_units() and self.locality is not None:
            self._conversion_factors(await repo.anesthesia_cfs(self.locality.mac, self.locality.number))
        others = [c for c in codes if not is_anesthesia(c)]
        self.lab = await repo.lab_rates(others)
        self.dme = await repo.dme_fees(others, bill.facility.state)

    async def registry_facility(self) -> Facility | None:
        """The facility's registry entry (credentials, CCN): read once, when a step needs it."""
        if self.facility is None and not self._facility_read:
            self.facility = await self.reference.facility([self.bill.facility.npi, self.bill.provider.npi])
        self._facility_read = True
        return self.facility

    def _conversion_factors(self, rows: Sequence[AnesthesiaConversionFactor]) -> None:
        by_year = {r.year: r for r in rows}
        assert self.locality is not None
        for line in self.bill.lines:
            year, note = pick_year(sorted(by_year), line.service_date.year)
            if year is None:
                continue
            row = by_year[year]
            source = (
                f"CF {row.conversion_factor.normalize()} ({self.locality.name}, carrier {row.mac} locality "
                f"{row.locality}, {year}{'; ' + note if note else ''}; {self.locality.note})"
            )
            self.anesthesia_cf[line.line_number] = ConversionFactor(row.conversion_factor, source)

    async def _load_stay(self) -> None:
        bill, repo = self.bill, self.reference
        if not bill.drg:
            self.ipps = ipps(bill, [], [], None, "")
            return
        facility = self.facility
        wages = await repo.wage_indexes(
            facility.ccn if facility else None, facility.cbsa if facility else None
        )
        rates = await repo.ipps_rates()
        weights = await repo.drg_weights(bill.drg)
        year = max((r.fiscal_year for r in rates), default=0)
        wanted = fiscal_year(stay_end(bill))
        year = wanted if any(r.fiscal_year == wanted for r in rates) else year
        of_year = sorted((w for w in wages if w.fiscal_year == year), key=lambda w: w.area_kind != "ccn")
        if facility is None:
            missing = f"facility {bill.facility.npi or bill.provider.npi} is not in the facility registry"
        elif not (facility.ccn or facility.cbsa):
            missing = f"the facility registry gives no CCN or CBSA for {facility.name}"
        else:
            missing = f"no FY{year} wage index is loaded for {facility.name}"
        self.ipps = ipps(bill, weights, rates, of_year[0] if of_year else None, missing)

    # --- pricing at a multiplier -------------------------------------------------------------

    def schedule(self, lines: Sequence[BillLineV1], multiplier: Multiplier) -> list[LineQuote]:
        if self.inpatient:
            return self.stay(lines, multiplier)
        if self.professional:
            if self.locality is None:
                reason = f"no Medicare locality (GPCI) is loaded for {self.bill.facility.state}"
                return [unpriced(line, reason) for line in lines]
            return [self._professional(line, multiplier) for line in lines]
        return price_outpatient(
            lines,
            opps=self.opps,
            multiplier=multiplier,
            year=self.year,
            other=lambda line, reason: self._other(line, reason, multiplier),
        )

    def stay(self, lines: Sequence[BillLineV1], multiplier: Multiplier) -> list[LineQuote]:
        """The stay at the multiplier's per diem, or at its factor × Medicare IPPS, shared over lines."""
        if multiplier.per_diem is not None:
            days, how = stay_days(self.bill)
            total = cents(multiplier.per_diem * days)
            return allocate(
                lines, total, f"{multiplier.source}: per diem {multiplier.per_diem} × {how} = {total}"
            )
        if isinstance(self.ipps, str):
            return unpriced_stay(lines, self.ipps)
        total = cents(self.ipps.total * multiplier.factor)
        basis = f"{self.ipps.describe()}; × {multiplier.factor} ({multiplier.source}) = {total} for the stay"
        return allocate(lines, total, basis)

    def _professional(self, line: BillLineV1, multiplier: Multiplier) -> LineQuote:
        code = line.procedure_code
        if is_anesthesia(code):
            own = multiplier.anesthesia_cf
            return price_anesthesia(
                line,
                self.base_units.get(code or ""),
                self.anesthesia_cf.get(line.line_number),
                factor=multiplier.factor,
                factor_source=multiplier.source,
                own_cf=own,
            )
        assert self.locality is not None
        quote = price_line(line, self.rvus, self.locality, multiplier, self.year)
        if quote.allowed is not None or code is None:
            return quote
        return self._other(line, quote.reason or "", multiplier)

    def _other(self, line: BillLineV1, reason: str, multiplier: Multiplier) -> LineQuote:
        """A line on the CLFS, else DMEPOS; else unpriced with ``reason``."""
        code = line.procedure_code or ""
        lab = price_lab(
            line,
            self.lab.get(code, []),
            Scaled(
                multiplier.lab or multiplier.factor, multiplier.source + (" lab" if multiplier.lab else "")
            ),
        )
        if lab is not None:
            return lab
        dme = price_dme(
            line,
            self.dme.get(code, []),
            state=self.bill.facility.state,
            rural=self.area.rural,
            multiplier=Scaled(
                multiplier.dme or multiplier.factor, multiplier.source + (" DME" if multiplier.dme else "")
            ),
        )
        if dme is not None:
            return dme
        return unpriced(line, f"{reason}; not on the CLFS or DMEPOS schedules loaded either")
